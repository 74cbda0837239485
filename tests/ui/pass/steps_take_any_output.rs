use llm_traced::llm_traced;

struct Documents(Vec<String>);

/// A step's output needs no `LlmResponse`: only its error, if any, is read.
#[llm_traced(kind = "retrieval")]
async fn retrieve(query: &str) -> Result<Documents, std::io::Error> {
    Ok(Documents(vec![query.to_owned()]))
}

#[llm_traced(kind = "tool", name = "calculator")]
fn add(a: u32, b: u32) -> u32 {
    a + b
}

#[llm_traced(kind = "chain")]
async fn pipeline(query: &str) -> impl std::fmt::Display {
    let docs = retrieve(query).await.unwrap();
    add(docs.0.len() as u32, 1)
}

fn main() {
    let out = futures::executor::block_on(pipeline("q"));
    assert_eq!(out.to_string(), "2");
}
