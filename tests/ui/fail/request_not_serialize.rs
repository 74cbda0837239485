use llm_traced::llm_traced;

struct Body;

#[llm_traced(request = body)]
fn ask(body: Body) -> String {
    let _ = body;
    String::new()
}

fn main() {}
