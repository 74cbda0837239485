//! The providers' wire formats: where a replayed request goes, with which
//! headers, and the body rebuilt from the record (overrides applied).

use serde_json::{json, Map, Value};

/// The protocol a record is replayed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// OpenAI and compatible endpoints: Chat Completions, the Responses API,
    /// embeddings.
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// Gemini `generateContent`.
    Gemini,
    /// Azure OpenAI: the deployment in the path, `api-key`, `api-version`.
    Azure,
}

impl Wire {
    /// The protocol of a record's provider (`gen_ai.provider.name`).
    pub fn of(provider: Option<&str>) -> Wire {
        let p = provider.unwrap_or("openai").to_ascii_lowercase();
        if p.contains("anthropic") {
            Wire::Anthropic
        } else if p.contains("gemini") || p.contains("google") || p.contains("vertex") {
            Wire::Gemini
        } else if p.contains("azure") {
            Wire::Azure
        } else {
            Wire::OpenAi
        }
    }

    /// The variable the key is read from by default.
    pub fn key_env(self) -> &'static str {
        match self {
            Wire::OpenAi => "OPENAI_API_KEY",
            Wire::Anthropic => "ANTHROPIC_API_KEY",
            Wire::Gemini => "GEMINI_API_KEY",
            Wire::Azure => "AZURE_OPENAI_API_KEY",
        }
    }

    /// The provider name the replayed call is recorded under.
    pub fn provider(self) -> &'static str {
        match self {
            Wire::OpenAi => "openai",
            Wire::Anthropic => "anthropic",
            Wire::Gemini => "gcp.gemini",
            Wire::Azure => "azure.ai.openai",
        }
    }

    /// The header that carries the key, and how its value is written
    /// (`{}` stands for the key).
    pub fn key_header(self) -> (&'static str, &'static str) {
        match self {
            Wire::OpenAi => ("authorization", "Bearer {}"),
            Wire::Anthropic => ("x-api-key", "{}"),
            Wire::Gemini => ("x-goog-api-key", "{}"),
            Wire::Azure => ("api-key", "{}"),
        }
    }

    /// Headers other than the key's.
    pub fn headers(self) -> Vec<(&'static str, &'static str)> {
        let mut h = vec![("content-type", "application/json")];
        if self == Wire::Anthropic {
            h.push(("anthropic-version", "2023-06-01"));
        }
        h
    }
}

/// A request ready to send (or to print).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Its protocol.
    pub wire: Wire,
    /// The full URL.
    pub url: String,
    /// The JSON body.
    pub body: Value,
    /// The model (Azure: the deployment).
    pub model: String,
    /// Whether the response is a server-sent event stream.
    pub stream: bool,
    /// Whether it is an embeddings request (recorded as `embeddings`).
    pub embeddings: bool,
}

/// What the command line changes in the request.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--model`.
    pub model: Option<String>,
    /// `--set KEY=JSON`, in order; a dotted key reaches into objects.
    pub set: Vec<(String, Value)>,
    /// `--base-url`.
    pub base_url: Option<String>,
}

/// Parses `KEY=JSON`.
pub fn parse_set(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected KEY=JSON, e.g. temperature=0"))?;
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(format!("`{text}`: the key is empty"));
    }
    let value = serde_json::from_str(value).map_err(|_| {
        format!("`{text}`: the value is not JSON (a string is quoted: {key}='\"{value}\"')")
    })?;
    Ok((key.to_owned(), value))
}

fn set_path(body: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            body.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry = body
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                set_path(inner, rest, value);
            }
        }
    }
}

/// The request rebuilt: the recorded body (or one made from the messages),
/// the overrides applied, streaming as the original did.
pub fn prepare(
    wire: Wire,
    operation: &str,
    recorded: Map<String, Value>,
    recorded_model: Option<&str>,
    stream: bool,
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Prepared, String> {
    let mut body = recorded;
    let model = overrides
        .model
        .clone()
        .or_else(|| body.get("model").and_then(Value::as_str).map(str::to_owned))
        .or_else(|| recorded_model.map(str::to_owned))
        .ok_or("the record names no model: give one with --model")?;
    for (key, value) in &overrides.set {
        set_path(&mut body, key, value.clone());
    }
    let base = |var: Option<&str>, default: &str| -> String {
        overrides
            .base_url
            .clone()
            .or_else(|| var.and_then(env).filter(|v| !v.is_empty()))
            .unwrap_or_else(|| default.to_owned())
            .trim_end_matches('/')
            .to_owned()
    };
    let url = match wire {
        Wire::OpenAi => {
            body.insert("model".into(), json!(model));
            let path = if operation == "embeddings" {
                "embeddings"
            } else if !body.contains_key("messages") && body.contains_key("input") {
                "responses"
            } else {
                "chat/completions"
            };
            if stream {
                body.insert("stream".into(), json!(true));
                if path == "chat/completions" && !body.contains_key("stream_options") {
                    body.insert("stream_options".into(), json!({"include_usage": true}));
                }
            }
            format!(
                "{}/{path}",
                base(Some("OPENAI_BASE_URL"), "https://api.openai.com/v1")
            )
        }
        Wire::Anthropic => {
            body.insert("model".into(), json!(model));
            if stream {
                body.insert("stream".into(), json!(true));
            }
            format!(
                "{}/v1/messages",
                base(Some("ANTHROPIC_BASE_URL"), "https://api.anthropic.com")
            )
        }
        Wire::Gemini => {
            // The model is in the path, not the body.
            body.remove("model");
            body.remove("stream");
            let method = if stream {
                "streamGenerateContent?alt=sse"
            } else {
                "generateContent"
            };
            let name = model.strip_prefix("models/").unwrap_or(&model);
            format!(
                "{}/v1beta/models/{name}:{method}",
                base(None, "https://generativelanguage.googleapis.com")
            )
        }
        Wire::Azure => {
            let endpoint = base(Some("AZURE_OPENAI_ENDPOINT"), "");
            if endpoint.is_empty() {
                return Err(
                    "Azure OpenAI has no public endpoint: give yours with --base-url or \
                     AZURE_OPENAI_ENDPOINT (https://NAME.openai.azure.com)"
                        .to_owned(),
                );
            }
            // The Responses API is on Azure's OpenAI-compatible v1 surface:
            // no deployment in the path, the deployment as the body's model.
            let responses = operation != "embeddings"
                && !body.contains_key("messages")
                && body.contains_key("input");
            if responses {
                body.insert("model".into(), json!(model));
                if stream {
                    body.insert("stream".into(), json!(true));
                }
                format!("{endpoint}/openai/v1/responses")
            } else {
                let version = env("AZURE_OPENAI_API_VERSION")
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| "2024-10-21".to_owned());
                body.remove("model");
                if stream {
                    body.insert("stream".into(), json!(true));
                    if !body.contains_key("stream_options") {
                        body.insert("stream_options".into(), json!({"include_usage": true}));
                    }
                }
                let path = if operation == "embeddings" {
                    "embeddings"
                } else {
                    "chat/completions"
                };
                format!("{endpoint}/openai/deployments/{model}/{path}?api-version={version}")
            }
        }
    };
    Ok(Prepared {
        wire,
        url,
        body: Value::Object(body),
        model,
        stream,
        embeddings: operation == "embeddings",
    })
}

/// A body made from the recorded messages alone (`--from-messages`).
pub fn from_messages(wire: Wire, messages: Value) -> Map<String, Value> {
    let mut body = Map::new();
    match wire {
        Wire::Gemini => {
            body.insert("contents".into(), messages);
        }
        Wire::Anthropic => {
            body.insert("messages".into(), messages);
            // Required by the Messages API; the original's limit is unknown.
            body.insert("max_tokens".into(), json!(1024));
        }
        Wire::OpenAi | Wire::Azure => {
            body.insert("messages".into(), messages);
        }
    }
    body
}

/// The request as a `curl` command that reads the key from `$VAR`.
pub fn curl(p: &Prepared, key_env: &str) -> String {
    let (header, format) = p.wire.key_header();
    let mut out = String::from("curl");
    if p.stream {
        out.push_str(" -N");
    }
    out.push_str(&format!(" {}", shell_quote(&p.url)));
    let key = format.replace("{}", &format!("${key_env}"));
    out.push_str(&format!(" \\\n  -H \"{header}: {key}\""));
    for (name, value) in p.wire.headers() {
        out.push_str(&format!(
            " \\\n  -H {}",
            shell_quote(&format!("{name}: {value}"))
        ));
    }
    out.push_str(&format!(" \\\n  -d {}", shell_quote(&p.body.to_string())));
    out.push('\n');
    out
}

/// Single quotes for a POSIX shell (`'` written as `'\''`).
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_reaches_into_objects_and_refuses_bad_json() {
        let mut body = Map::new();
        let (k, v) = parse_set("generationConfig.temperature=0").unwrap();
        set_path(&mut body, &k, v);
        assert_eq!(
            Value::Object(body),
            json!({"generationConfig": {"temperature": 0}})
        );
        assert!(parse_set("stop=END").unwrap_err().contains("not JSON"));
        assert!(parse_set("temperature").is_err());
    }

    #[test]
    fn quotes_survive_the_shell() {
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
