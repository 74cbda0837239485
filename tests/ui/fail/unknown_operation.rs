use llm_traced::llm_traced;

#[llm_traced(operation = "chatting")]
async fn ask() -> String {
    String::new()
}

fn main() {}
