use futures::Stream;
use llm_traced::llm_traced;

#[llm_traced(kind = "tool")]
fn search() -> impl Stream<Item = String> {
    futures::stream::iter(Vec::new())
}

fn main() {}
