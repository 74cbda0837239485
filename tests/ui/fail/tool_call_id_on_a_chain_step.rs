use llm_traced::llm_traced;

#[llm_traced(kind = "chain", tool_call_id = id)]
async fn plan(id: &str) -> String {
    id.to_owned()
}

fn main() {}
