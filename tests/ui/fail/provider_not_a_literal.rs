use llm_traced::llm_traced;

const OPENAI: &str = "openai";

#[llm_traced(provider = OPENAI)]
async fn ask() -> String {
    String::new()
}

fn main() {}
