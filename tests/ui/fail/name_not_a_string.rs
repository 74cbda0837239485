use llm_traced::llm_traced;

#[llm_traced(name = 5)]
async fn ask() -> String {
    String::new()
}

fn main() {}
