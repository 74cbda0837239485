use llm_traced::llm_traced;

#[llm_traced]
fn count_tokens(text: &str) -> usize {
    text.len()
}

fn main() {
    let _ = count_tokens("a b");
}
