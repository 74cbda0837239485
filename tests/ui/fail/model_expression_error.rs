use llm_traced::llm_traced;

#[llm_traced(model = modell)]
async fn ask(model: &str) -> String {
    model.to_owned()
}

fn main() {}
