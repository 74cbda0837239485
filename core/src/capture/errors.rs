//! The providers' error bodies.

use serde_json::Value;

use super::info::CapturedError;
use super::str_at;

/// The error in a provider's error body: OpenAI/Azure `{"error":{…}}`,
/// Anthropic `{"type":"error","error":{…}}`, Gemini `{"error":{"status":…}}`.
pub(super) fn error_body(v: &Value) -> Option<CapturedError> {
    let error = v.get("error")?;
    if let Some(message) = error.as_str() {
        return Some(CapturedError {
            message: message.to_owned(),
            type_name: "error".to_owned(),
            body: Some(v.to_string()),
            ..CapturedError::default()
        });
    }
    let message = str_at(error, "message")?;
    let type_name = str_at(error, "code")
        .or_else(|| str_at(error, "type"))
        .or_else(|| str_at(error, "status"))
        .unwrap_or_else(|| "error".to_owned());
    let http_status = error
        .get("code")
        .and_then(Value::as_u64)
        .or_else(|| error.get("status").and_then(Value::as_u64))
        .and_then(|s| u16::try_from(s).ok());
    Some(CapturedError {
        message,
        type_name,
        http_status,
        body: Some(v.to_string()),
        ..CapturedError::default()
    })
}
