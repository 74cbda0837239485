use llm_traced::llm_traced;

#[llm_traced(model = "gpt-4o", audit)]
fn ask(messages: &[String]) -> String {
    messages.join(" ")
}

fn main() {
    let _ = ask(&[]);
}
