use llm_traced::llm_traced;

#[llm_traced(name = "a" model = "b")]
async fn ask() -> String {
    String::new()
}

fn main() {}
