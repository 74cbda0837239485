use llm_traced::llm_traced;

#[llm_traced(kind = "tool", messages = query)]
async fn search(query: &str) -> String {
    query.to_owned()
}

fn main() {}
