use llm_traced::llm_traced;

struct Opaque;

#[llm_traced(kind = "tool", arguments = input)]
fn run(input: Opaque) -> u32 {
    let _ = input;
    1
}

fn main() {}
