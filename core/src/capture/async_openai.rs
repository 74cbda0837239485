//! async-openai's chat types, read as their JSON (feature `async-openai`).

use super::stream::{LlmChunk, StreamAccumulator};
use super::{LlmResponse, ResponseInfo};
use async_openai::types::chat::{CreateChatCompletionResponse, CreateChatCompletionStreamResponse};

/// async-openai's chat completion, read as its JSON.
impl LlmResponse for CreateChatCompletionResponse {
    fn capture(&self, info: &mut ResponseInfo) {
        if let Ok(value) = serde_json::to_value(self) {
            value.capture(info);
        }
    }
}

/// async-openai's stream chunk, read as its JSON.
impl LlmChunk for CreateChatCompletionStreamResponse {
    fn accumulate(&self, acc: &mut StreamAccumulator) {
        if let Ok(value) = serde_json::to_value(self) {
            value.accumulate(acc);
        }
    }
}
