use llm_traced::llm_traced;

#[llm_traced(crate = "not a path")]
async fn ask() -> String {
    String::new()
}

fn main() {}
