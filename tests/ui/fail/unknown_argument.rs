use llm_traced::llm_traced;

#[llm_traced(modle = "gpt-4o")]
async fn ask() -> String {
    String::new()
}

fn main() {}
