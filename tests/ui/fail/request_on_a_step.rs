use llm_traced::llm_traced;

#[llm_traced(kind = "tool", request = query)]
fn search(query: &str) -> String {
    query.to_owned()
}

fn main() {}
