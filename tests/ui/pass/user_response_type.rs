use llm_traced::capture::{ResponseInfo, Usage};
use llm_traced::{llm_traced, LlmResponse};

/// A response type of the user's own, made recordable by a small impl.
struct Reply {
    text: String,
    tokens: (u64, u64),
}

impl LlmResponse for Reply {
    fn capture(&self, info: &mut ResponseInfo) {
        info.text = Some(self.text.clone());
        info.usage = Some(Usage::new(self.tokens.0, self.tokens.1));
    }
}

/// Docs stay on the function.
#[llm_traced(provider = "openai", model = "gpt-4o", operation = "chat")]
pub async fn ask(messages: &[String]) -> Reply {
    Reply { text: messages.concat(), tokens: (1, 2) }
}

fn main() {
    let reply = futures::executor::block_on(ask(&["hi".to_owned()]));
    assert_eq!(reply.text, "hi");
}
