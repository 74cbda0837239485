//! A response type of your own, made recordable by a small trait impl.
//!
//! ```sh
//! LLM_DEBUG=1 LLM_LOG_RESPONSES=1 cargo run --example custom_response
//! ```

use llm_traced::capture::{LlmResponse, ResponseInfo, ToolCall, Usage};
use llm_traced::llm_traced;

/// What a home-grown client returns.
struct Completion {
    model: String,
    text: String,
    stop: &'static str,
    tokens_in: u64,
    tokens_out: u64,
    tool: Option<(String, String)>,
}

impl LlmResponse for Completion {
    fn capture(&self, info: &mut ResponseInfo) {
        info.model = Some(self.model.clone());
        info.text = Some(self.text.clone());
        info.finish_reasons = vec![self.stop.to_owned()];
        info.usage = Some(Usage::new(self.tokens_in, self.tokens_out));
        if let Some((name, arguments)) = &self.tool {
            info.tool_calls.push(ToolCall {
                id: None,
                name: name.clone(),
                arguments: arguments.clone(),
            });
        }
    }
}

#[llm_traced(provider = "ollama", model = "llama3.2")]
fn complete(messages: &[&str]) -> Completion {
    Completion {
        model: "llama3.2:3b".to_owned(),
        text: format!("{} message(s) read.", messages.len()),
        stop: "stop",
        tokens_in: 12,
        tokens_out: 4,
        tool: Some(("search".to_owned(), r#"{"q":"rust tracing"}"#.to_owned())),
    }
}

fn main() {
    let reply = complete(&["Summarise the tracing crate."]);
    println!("{} ({})", reply.text, reply.model);
}
