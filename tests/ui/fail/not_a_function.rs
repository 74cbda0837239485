use llm_traced::llm_traced;

#[llm_traced]
struct Client;

fn main() {}
