use llm_traced::llm_traced;

#[llm_traced(name = "first", provider = "openai", name = "second")]
async fn ask() -> String {
    String::new()
}

fn main() {}
