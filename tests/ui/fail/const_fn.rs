use llm_traced::llm_traced;

#[llm_traced]
const fn ask() -> &'static str {
    "answer"
}

fn main() {}
