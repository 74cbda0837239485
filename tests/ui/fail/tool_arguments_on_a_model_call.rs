use llm_traced::llm_traced;

#[llm_traced(model = "gpt-4o", arguments = prompt)]
async fn ask(prompt: &str) -> String {
    prompt.to_owned()
}

fn main() {}
