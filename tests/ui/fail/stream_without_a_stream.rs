use llm_traced::llm_traced;

#[llm_traced(stream)]
fn answer() {}

fn main() {}
