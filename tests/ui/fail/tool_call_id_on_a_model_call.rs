use llm_traced::llm_traced;

#[llm_traced(tool_call_id = id)]
fn ask(id: &str) -> String {
    id.to_owned()
}

fn main() {}
