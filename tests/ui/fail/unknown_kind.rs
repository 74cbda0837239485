use llm_traced::llm_traced;

#[llm_traced(kind = "pipeline")]
async fn run() -> String {
    String::new()
}

fn main() {}
