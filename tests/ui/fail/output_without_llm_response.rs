use llm_traced::llm_traced;

struct Reply {
    text: String,
}

#[llm_traced]
async fn ask() -> Reply {
    Reply { text: String::new() }
}

fn main() {
    let _ = ask();
}
