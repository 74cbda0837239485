use llm_traced::llm_traced;

#[llm_traced(kind = "tool", arguments = a, arguments = b)]
fn add(a: u32, b: u32) -> u32 {
    a + b
}

fn main() {}
