//! Error diagnostics: turn a failed LLM API call into a stable [`ErrorClass`]
//! (the `error.type` span attribute) plus advice a person can act on.
//!
//! Classification looks at structure first and text last: a transport failure
//! reported by the error type, then the HTTP status, then the provider's JSON
//! error body (OpenAI, Azure OpenAI, Anthropic, Google Gemini), and only then
//! word-boundary patterns in the message text.
//!

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use once_cell::sync::Lazy;
use regex_lite::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Stable, low-cardinality failure classes, used as the `error.type` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorClass {
    /// Too many requests or tokens in a short window (HTTP 429).
    RateLimit,
    /// Out of credit, quota or spend allowance; waiting will not help.
    QuotaExceeded,
    /// The prompt plus requested output does not fit the context window.
    ContextLength,
    /// Missing, malformed, revoked or wrong API key (HTTP 401).
    Authentication,
    /// Valid credentials that may not use this model, endpoint or region (HTTP 403).
    Permission,
    /// The provider's safety system blocked the prompt or the completion.
    ContentFilter,
    /// Malformed request or invalid parameters (HTTP 400/422).
    InvalidRequest,
    /// The model or deployment does not exist or is not available.
    ModelNotFound,
    /// The request took too long (HTTP 408/504 or a client timeout).
    Timeout,
    /// The provider failed internally (HTTP 500/502/503).
    ServerError,
    /// The provider is temporarily out of capacity (HTTP 529, Gemini `UNAVAILABLE`).
    Overloaded,
    /// No response at all: connection, DNS, TLS or proxy failure.
    Network,
    /// Nothing recognisable.
    Unknown,
}

impl ErrorClass {
    /// Every class, in declaration order.
    pub const ALL: [ErrorClass; 13] = [
        Self::RateLimit,
        Self::QuotaExceeded,
        Self::ContextLength,
        Self::Authentication,
        Self::Permission,
        Self::ContentFilter,
        Self::InvalidRequest,
        Self::ModelNotFound,
        Self::Timeout,
        Self::ServerError,
        Self::Overloaded,
        Self::Network,
        Self::Unknown,
    ];

    /// The snake_case name used as the `error.type` value, e.g. `"rate_limit"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RateLimit => "rate_limit",
            Self::QuotaExceeded => "quota_exceeded",
            Self::ContextLength => "context_length",
            Self::Authentication => "authentication",
            Self::Permission => "permission",
            Self::ContentFilter => "content_filter",
            Self::InvalidRequest => "invalid_request",
            Self::ModelNotFound => "model_not_found",
            Self::Timeout => "timeout",
            Self::ServerError => "server_error",
            Self::Overloaded => "overloaded",
            Self::Network => "network",
            Self::Unknown => "unknown",
        }
    }

    /// One sentence saying what this class means.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::RateLimit => "The provider is throttling you: too many requests or tokens in a short window.",
            Self::QuotaExceeded => "The account is out of credit, quota or spend allowance; requests fail until billing is fixed.",
            Self::ContextLength => "The prompt plus the requested output does not fit in the model's context window.",
            Self::Authentication => "The API key or token is missing, malformed, revoked or meant for another service.",
            Self::Permission => "The credentials are valid but may not use this model, endpoint or region.",
            Self::ContentFilter => "The provider's safety system blocked the prompt or the completion.",
            Self::InvalidRequest => "The request is malformed or has invalid parameters; sent unchanged it will fail again.",
            Self::ModelNotFound => "The model or deployment name does not exist or is not available to this key.",
            Self::Timeout => "The request took too long and was abandoned by the client, a proxy or the provider.",
            Self::ServerError => "The provider failed internally; this is usually transient.",
            Self::Overloaded => "The provider is temporarily out of capacity for this model.",
            Self::Network => "No response arrived: the connection, DNS, TLS or proxy failed.",
            Self::Unknown => "The error did not match any known pattern.",
        }
    }

    /// Whether retrying the same request later can succeed.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            Self::RateLimit | Self::Timeout | Self::ServerError | Self::Overloaded | Self::Network
        )
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Returned by [`ErrorClass::from_str`] for a name that is not a class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseErrorClassError(pub String);

impl fmt::Display for ParseErrorClassError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown error class {:?}", self.0)
    }
}

impl std::error::Error for ParseErrorClassError {}

impl FromStr for ErrorClass {
    type Err = ParseErrorClassError;

    /// Parses the [`ErrorClass::as_str`] name (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseErrorClassError(s.to_string()))
    }
}

/// What an error type can tell about the HTTP exchange behind it.
///
/// Every method has a default, so plain text errors need no code.
pub trait HttpErrorDetails {
    /// The HTTP status of the failed response, if there was one.
    fn http_status(&self) -> Option<u16> {
        None
    }
    /// The provider's JSON error body, if known.
    fn response_body(&self) -> Option<String> {
        None
    }
    /// The delay from a `retry-after` header, if known.
    fn retry_after(&self) -> Option<Duration> {
        None
    }
    /// `Some(Timeout)` or `Some(Network)` when the transport itself failed.
    fn transport_failure(&self) -> Option<ErrorClass> {
        None
    }
}

impl HttpErrorDetails for str {}
impl HttpErrorDetails for String {}

#[cfg(feature = "reqwest")]
impl HttpErrorDetails for reqwest::Error {
    fn http_status(&self) -> Option<u16> {
        self.status().map(|s| s.as_u16())
    }
    fn transport_failure(&self) -> Option<ErrorClass> {
        if self.is_timeout() {
            Some(ErrorClass::Timeout)
        } else if self.is_connect() || (self.is_request() && self.status().is_none()) {
            Some(ErrorClass::Network)
        } else {
            None
        }
    }
}

/// Needs an async-openai API feature (e.g. `chat-completion`) and the same
/// reqwest major version as this crate's `reqwest` feature.
#[cfg(feature = "async-openai")]
impl HttpErrorDetails for async_openai::error::OpenAIError {
    fn http_status(&self) -> Option<u16> {
        match self {
            Self::ApiError(r) => Some(r.status_code.as_u16()),
            Self::Reqwest(e) => e.http_status(),
            _ => None,
        }
    }
    fn response_body(&self) -> Option<String> {
        match self {
            Self::ApiError(r) => {
                let e = &r.api_error;
                let error = serde_json::json!({
                    "message": e.message, "type": e.r#type, "param": e.param, "code": e.code,
                });
                Some(serde_json::json!({ "error": error }).to_string())
            }
            Self::JSONDeserialize(_, content) => Some(content.clone()),
            _ => None,
        }
    }
    fn transport_failure(&self) -> Option<ErrorClass> {
        match self {
            Self::Reqwest(e) => e.transport_failure(),
            _ => None,
        }
    }
}

/// The diagnosis of one failed call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The failure class (`error.type`).
    pub class: ErrorClass,
    /// `"openai"`, `"azure_openai"`, `"anthropic"` or `"google"` when detected.
    pub provider: Option<String>,
    /// The HTTP status, as given or as found in the body or text.
    pub http_status: Option<u16>,
    /// The provider's own code or type, e.g. `"context_length_exceeded"`.
    pub code: Option<String>,
    /// The provider's message if a body was parsed, else the input text.
    pub message: String,
    /// One sentence: what this class means.
    pub summary: String,
    /// Concrete things to do, most useful first.
    pub suggestions: Vec<String>,
    /// Provider documentation relevant to this class.
    pub docs: Vec<String>,
    /// Whether retrying the same request can succeed.
    pub retryable: bool,
    /// Suggested wait before retrying, in milliseconds, when the provider said.
    pub retry_after_ms: Option<u64>,
}

impl Diagnosis {
    /// A compact, multi-line, human-readable block for a terminal.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut facts: Vec<String> = Vec::new();
        facts.extend(self.provider.clone());
        facts.extend(self.http_status.map(|s| format!("HTTP {s}")));
        facts.extend(self.code.as_ref().map(|c| format!("code {c}")));
        let facts = if facts.is_empty() {
            String::new()
        } else {
            format!(" ({})", facts.join(", "))
        };
        out.push_str(&format!("error.type = {}{facts}\n", self.class));
        push_wrapped(&mut out, &self.summary, "  ", "  ");
        if !self.message.trim().is_empty() {
            push_wrapped(
                &mut out,
                &truncate_chars(&self.message, 300),
                "  message: ",
                "    ",
            );
        }
        let retry = match (self.retryable, self.retry_after_ms) {
            _ if self.class == ErrorClass::Unknown => "maybe once, with backoff".to_string(),
            (true, Some(ms)) => format!("yes, after {}", format_ms(ms)),
            (true, None) => "yes, with exponential backoff and jitter".to_string(),
            (false, _) => "no, fix the cause first".to_string(),
        };
        out.push_str(&format!("  retry: {retry}\n  what to do:\n"));
        for s in &self.suggestions {
            push_wrapped(&mut out, s, "  - ", "    ");
        }
        if !self.docs.is_empty() {
            out.push_str("  docs:\n");
            for d in &self.docs {
                out.push_str(&format!("  - {d}\n"));
            }
        }
        out
    }
}

/// Diagnoses any error that can describe its HTTP exchange.
pub fn diagnose<E: HttpErrorDetails + fmt::Display + ?Sized>(err: &E) -> Diagnosis {
    let message = err.to_string();
    let body = err.response_body();
    let mut d = analyze(
        err.http_status(),
        body.as_deref(),
        &message,
        None,
        err.transport_failure(),
    );
    if let Some(delay) = err.retry_after() {
        d.retry_after_ms = Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
    }
    d
}

/// Diagnoses text: a plain message, an SDK repr such as
/// `Error code: 429 - {'error': {...}}`, or a raw JSON body.
pub fn diagnose_text(text: &str) -> Diagnosis {
    analyze(None, None, text, None, None)
}

/// Diagnoses what `#[llm_traced]` captured of a failed call: its status,
/// body and message, the transport failure and the delay a header asked for.
#[doc(hidden)]
pub fn diagnose_call(
    status: Option<u16>,
    body: Option<&str>,
    message: &str,
    provider_hint: Option<&str>,
    transport: Option<ErrorClass>,
    retry_after_ms: Option<u64>,
) -> Diagnosis {
    let mut d = analyze(status, body, message, provider_hint, transport);
    if retry_after_ms.is_some() {
        d.retry_after_ms = retry_after_ms;
    }
    d
}

/// The core: diagnoses a status, a response body and a message.
///
/// `provider_hint` may be e.g. `"openai"`, `"azure"`, `"anthropic"`,
/// `"gemini"` or an OpenTelemetry `gen_ai.system` value.
pub fn diagnose_parts(
    status: Option<u16>,
    body: Option<&str>,
    message: &str,
    provider_hint: Option<&str>,
) -> Diagnosis {
    analyze(status, body, message, provider_hint, None)
}

fn analyze(
    status: Option<u16>,
    body: Option<&str>,
    message: &str,
    hint: Option<&str>,
    transport: Option<ErrorClass>,
) -> Diagnosis {
    use ErrorClass::*;
    let parsed = body
        .and_then(|b| parse_object(b).or_else(|| extract_json(b)))
        .or_else(|| extract_json(message));
    let info = parsed.as_ref().map(read_body).unwrap_or_default();
    let mut text = message.to_string();
    if let (None, Some(b)) = (&parsed, body) {
        text.push('\n');
        text.push_str(b);
    }
    if let Some(m) = info.message.as_deref().filter(|m| !message.contains(*m)) {
        text.push('\n');
        text.push_str(m);
    }
    let text_cls = text_class(&text);
    let body_cls = info.class.map(|c| match c {
        InvalidRequest => refine(text_cls).unwrap_or(c),
        ServerError if says(Overloaded, &text) => Overloaded,
        c => c,
    });
    let status = status.or(info.status).or_else(|| text_status(&text));
    let class = transport
        .or_else(|| status.and_then(|s| classify_status(s, body_cls, text_cls, &text)))
        .or(body_cls)
        .or(text_cls)
        .unwrap_or(Unknown);
    let provider = resolve_provider(hint, info.provider, &text);
    let retry_after_ms = info.retry_after_ms.or_else(|| parse_retry_after(&text));
    let message = info.message.unwrap_or_else(|| match body {
        Some(b) if message.trim().is_empty() => b.trim().to_string(),
        _ => message.to_string(),
    });
    Diagnosis {
        class,
        provider: provider.map(|p| p.as_str().to_string()),
        http_status: status,
        code: info.code,
        message,
        summary: class.meaning().to_string(),
        suggestions: suggestions(class, provider),
        docs: docs(class, provider),
        retryable: class.retryable(),
        retry_after_ms,
    }
}

/// Text classes that may sharpen a generic "invalid request" (400/422).
fn refine(text_cls: Option<ErrorClass>) -> Option<ErrorClass> {
    use ErrorClass::*;
    text_cls.filter(|c| {
        matches!(
            c,
            ContextLength | QuotaExceeded | ContentFilter | ModelNotFound | Authentication
        )
    })
}

fn classify_status(
    status: u16,
    body: Option<ErrorClass>,
    text_cls: Option<ErrorClass>,
    text: &str,
) -> Option<ErrorClass> {
    use ErrorClass::*;
    Some(match status {
        401 => Authentication,
        403 => match body.or(text_cls) {
            Some(c @ (ContentFilter | QuotaExceeded | Authentication)) => c,
            _ => Permission,
        },
        404 if body == Some(ModelNotFound) || MODEL_WORD.is_match(text) => ModelNotFound,
        408 | 504 => Timeout,
        413 if body == Some(ContextLength) || text_cls == Some(ContextLength) => ContextLength,
        413 if LENGTH_WORD.is_match(text) => ContextLength,
        429 => match body {
            Some(QuotaExceeded) => QuotaExceeded,
            None if text_cls == Some(QuotaExceeded) => QuotaExceeded,
            _ => RateLimit,
        },
        529 => Overloaded,
        500..=599 if body == Some(Overloaded) || says(Overloaded, text) => Overloaded,
        500..=599 => ServerError,
        400..=499 => body.or(refine(text_cls)).unwrap_or(InvalidRequest),
        _ => return None,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Provider {
    OpenAi,
    Azure,
    Anthropic,
    Google,
}

impl Provider {
    fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Azure => "azure_openai",
            Self::Anthropic => "anthropic",
            Self::Google => "google",
        }
    }

    fn from_hint(hint: &str) -> Option<Self> {
        let h = hint.to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| h.contains(w));
        if h.starts_with("az.") || has(&["azure"]) {
            Some(Self::Azure)
        } else if has(&["anthropic", "claude"]) {
            Some(Self::Anthropic)
        } else if has(&["google", "gemini", "vertex", "gcp"]) {
            Some(Self::Google)
        } else if has(&["openai"]) {
            Some(Self::OpenAi)
        } else {
            None
        }
    }
}

fn resolve_provider(hint: Option<&str>, body: Option<Provider>, text: &str) -> Option<Provider> {
    let azure_text = AZURE.is_match(text);
    match (hint.and_then(Provider::from_hint), body) {
        (Some(Provider::OpenAi), Some(Provider::Azure)) => Some(Provider::Azure),
        (Some(h), _) => Some(h),
        (None, Some(Provider::OpenAi)) if azure_text => Some(Provider::Azure),
        (None, Some(b)) => Some(b),
        (None, None) if azure_text => Some(Provider::Azure),
        (None, None) => PROVIDER_TEXT
            .iter()
            .find(|(_, re)| re.is_match(text))
            .map(|(p, _)| *p),
    }
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static regex is valid")
}

static AZURE: Lazy<Regex> = Lazy::new(|| re(r"(?i)\bazure\b"));
static PROVIDER_TEXT: Lazy<Vec<(Provider, Regex)>> = Lazy::new(|| {
    vec![
        (Provider::Anthropic, re(r"(?i)\b(anthropic|claude)\b")),
        (
            Provider::Google,
            re(r"(?i)\bgemini\b|generativelanguage\.googleapis\.com"),
        ),
        (Provider::OpenAi, re(r"(?i)\bopenai\b")),
    ]
});
static MODEL_WORD: Lazy<Regex> = Lazy::new(|| re(r"(?i)\b(models?|deployments?)\b"));
static LENGTH_WORD: Lazy<Regex> = Lazy::new(|| re(r"(?i)\b(tokens?|too long|length|context)\b"));
static API_KEY: Lazy<Regex> = Lazy::new(|| re(r"(?i)\bapi[ _-]?key\b"));
static BILLING_OR_REGION: Lazy<Regex> =
    Lazy::new(|| re(r"(?i)\b(billing|location|region|country|countries|territory)\b"));

/// Message-text rules, checked in order; the first match wins.
static TEXT_RULES: Lazy<Vec<(ErrorClass, Regex)>> = Lazy::new(|| {
    use ErrorClass::*;
    [
        (ContentFilter, r"content[ _-]?(filter|management policy|policy)|safety system|responsibleaipolicyviolation|\b(was|were|been|is|are|being) flagged\b|\bflagged (as|by|for)\b|blocked (due to|by|for) safety|prohibited_content"),
        (QuotaExceeded, r"insufficient_quota|exceeded your (current )?quota|\bbilling|credit balance is too low|\bout of credits?\b|spend(ing)? limit|reached your (specified )?(workspace )?(api )?usage limits?"),
        (RateLimit, r"\brate[ _-]?limit|too many requests|resource_exhausted|\btokens per min|\brequests per min"),
        (ContextLength, r"maximum context length|context[ _-](window|length|limit)|too many tokens|prompt is too long|reduce the length|input token count|string_above_max_length|maximum number of tokens"),
        (ModelNotFound, r"\bmodels?\b[^.\n]{0,100}?\b(does not exist|doesn't exist|(is |was )?not found)|model_not_found|no such model|unknown model|deploymentnotfound|deployment [^.\n]{0,60}does not exist"),
        (Authentication, r"invalid[ _-]?(api[ _-]?key|x-api-key|authentication)|incorrect api key|api key not valid|\bunauthori[sz]ed\b|\bauthentication(_error)?\b|missing api key|no api key"),
        (Permission, r"permission[ _]denied|\bforbidden\b|does not have permission|unsupported_country|location is not supported"),
        (Overloaded, r"\boverloaded"),
        (Timeout, r"\btimed out\b|\btime[ _-]?outs?\b|timeout_error|deadline[ _]exceeded"),
        (Network, r"connection (refused|reset|closed|aborted|error)|\bdns\b|failed to lookup address|name or service not known|broken pipe|error sending request|network is unreachable|tcp connect error|could not connect|transport error|unexpected eof"),
        (ServerError, r"internal server error|bad gateway|service unavailable|server_error|\bserver error\b|\binternal error\b|\bapi_error\b"),
    ]
    .into_iter()
    .map(|(c, p)| (c, re(&format!("(?i){p}"))))
    .collect()
});

/// A status code standing alone after status wording, or before a reason phrase.
static STATUS_TOKEN: Lazy<Regex> = Lazy::new(|| {
    let codes = "400|401|403|404|408|413|422|429|500|502|503|504|529";
    re(&format!(
        r"(?i)\b(?:error(?:[ _]?code)?|status(?:[ _]?code)?|response code|http(?:/[0-9.]+)?(?: status)?(?: code)?)[ \t]*[:=#]?[ \t]*\(?\b({codes})\b|\b({codes})\b[ \t]*[-:]?[ \t]*(?:bad request|unauthorized|forbidden|not found|request timeout|payload too large|content too large|unprocessable entity|too many requests|internal server error|bad gateway|service unavailable|gateway timeout|overloaded)"
    ))
});
static RETRY_PHRASE: Lazy<Regex> = Lazy::new(|| {
    re(r"(?i)\b(?:try again|retry)\s+(?:in|after)\s+((?:[0-9]+(?:\.[0-9]+)?\s*[a-z]+\s*)+)")
});
static DURATION_PART: Lazy<Regex> = Lazy::new(|| re(r"(?i)([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)"));

fn says(class: ErrorClass, text: &str) -> bool {
    TEXT_RULES
        .iter()
        .any(|(c, re)| *c == class && re.is_match(text))
}

fn text_class(text: &str) -> Option<ErrorClass> {
    TEXT_RULES
        .iter()
        .find(|(_, re)| re.is_match(text))
        .map(|(c, _)| *c)
}

fn text_status(text: &str) -> Option<u16> {
    let caps = STATUS_TOKEN.captures(text)?;
    caps.get(1).or_else(|| caps.get(2))?.as_str().parse().ok()
}

/// Parses "try again in 26.604s", "retry after 3 seconds", "in 500ms", "1m30s".
fn parse_retry_after(text: &str) -> Option<u64> {
    let phrase = RETRY_PHRASE.captures(text)?.get(1)?.as_str();
    let mut total_ms = 0.0_f64;
    let mut any = false;
    for part in DURATION_PART.captures_iter(phrase) {
        let unit_ms = match part[2].to_ascii_lowercase().as_str() {
            "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 1.0,
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000.0,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000.0,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000.0,
            _ => break,
        };
        total_ms += part[1].parse::<f64>().ok()? * unit_ms;
        any = true;
    }
    // `as` saturates for out-of-range floats, so this cannot panic.
    (any && total_ms.is_finite()).then(|| total_ms.round() as u64)
}

#[derive(Default)]
struct BodyInfo {
    provider: Option<Provider>,
    code: Option<String>,
    message: Option<String>,
    class: Option<ErrorClass>,
    status: Option<u16>,
    retry_after_ms: Option<u64>,
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn status_from(v: Option<&Value>) -> Option<u16> {
    let n = match v? {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    u16::try_from(n).ok().filter(|s| (100..=599).contains(s))
}

fn read_body(v: &Value) -> BodyInfo {
    if let Value::Array(items) = v {
        let mut infos = items.iter().take(16).map(read_body);
        return infos
            .find(|i| i.class.is_some() || i.message.is_some())
            .unwrap_or_default();
    }
    if let Some((what, reason)) = gemini_block(v) {
        return BodyInfo {
            provider: Some(Provider::Google),
            code: Some(reason.to_string()),
            message: Some(format!("Gemini blocked the {what} ({reason})")),
            class: Some(ErrorClass::ContentFilter),
            ..BodyInfo::default()
        };
    }
    match v.get("error") {
        Some(e @ Value::Object(_)) => read_error_object(v, e),
        Some(Value::String(m)) => BodyInfo {
            message: Some(m.clone()),
            ..BodyInfo::default()
        },
        _ => BodyInfo {
            message: str_at(v, "message").map(str::to_string),
            status: status_from(v.get("code")).or_else(|| status_from(v.get("status"))),
            ..BodyInfo::default()
        },
    }
}

/// Gemini reports safety blocks in an otherwise successful response.
fn gemini_block(v: &Value) -> Option<(&'static str, &str)> {
    if let Some(r) = v
        .pointer("/promptFeedback/blockReason")
        .and_then(Value::as_str)
    {
        if r != "BLOCK_REASON_UNSPECIFIED" {
            return Some(("prompt", r));
        }
    }
    const SAFETY: [&str; 5] = [
        "SAFETY",
        "PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "IMAGE_SAFETY",
    ];
    v.get("candidates")?
        .as_array()?
        .iter()
        .filter_map(|c| str_at(c, "finishReason"))
        .find(|r| SAFETY.contains(r))
        .map(|r| ("response", r))
}

fn read_error_object(root: &Value, e: &Value) -> BodyInfo {
    let message = str_at(e, "message")
        .filter(|m| !m.is_empty())
        .map(str::to_string);
    let msg = message.as_deref().unwrap_or("");
    let etype = str_at(e, "type");
    const ANTHROPIC_ONLY: [&str; 8] = [
        "permission_error",
        "not_found_error",
        "request_too_large",
        "rate_limit_error",
        "api_error",
        "overloaded_error",
        "billing_error",
        "timeout_error",
    ];
    if str_at(root, "type") == Some("error") || etype.is_some_and(|t| ANTHROPIC_ONLY.contains(&t)) {
        let detail = e.pointer("/details/error_code").and_then(Value::as_str);
        let class = match detail {
            Some("enforced_spend_limit_reached") => Some(ErrorClass::QuotaExceeded),
            _ => etype.and_then(|t| anthropic_class(t, msg)),
        };
        return BodyInfo {
            provider: Some(Provider::Anthropic),
            code: detail.or(etype).map(str::to_string),
            class,
            message,
            ..BodyInfo::default()
        };
    }
    if let Some(gstatus) = str_at(e, "status") {
        let details = e
            .get("details")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let reasons: Vec<&str> = details.iter().filter_map(|d| str_at(d, "reason")).collect();
        let retry_after_ms = details
            .iter()
            .filter_map(|d| str_at(d, "retryDelay"))
            .find_map(|s| s.strip_suffix('s')?.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| (s * 1000.0).round() as u64);
        return BodyInfo {
            provider: Some(Provider::Google),
            code: Some(gstatus.to_string()),
            class: google_class(gstatus, msg, &reasons),
            status: status_from(e.get("code")),
            retry_after_ms,
            message,
        };
    }
    // OpenAI and Azure OpenAI: {"error": {"message", "type", "param", "code"}}.
    let code = match e.get("code") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let inner = e.get("innererror");
    let inner_code = inner.and_then(|i| str_at(i, "code"));
    let provider = if inner.is_some()
        || AZURE.is_match(msg)
        || code.as_deref() == Some("DeploymentNotFound")
    {
        Some(Provider::Azure)
    } else if e.get("type").is_some() || e.get("param").is_some() {
        Some(Provider::OpenAi)
    } else {
        None
    };
    let class = [code.as_deref(), inner_code, etype]
        .into_iter()
        .flatten()
        .find_map(openai_code_class)
        .or_else(|| (etype == Some("invalid_request_error")).then_some(ErrorClass::InvalidRequest));
    let status = status_from(e.get("status")).or_else(|| status_from(e.get("code")));
    BodyInfo {
        provider,
        code: code.or_else(|| etype.map(str::to_string)),
        message,
        class,
        status,
        retry_after_ms: None,
    }
}

fn openai_code_class(code: &str) -> Option<ErrorClass> {
    use ErrorClass::*;
    Some(match code {
        "context_length_exceeded" | "string_above_max_length" => ContextLength,
        "rate_limit_exceeded" => RateLimit,
        "insufficient_quota" | "billing_hard_limit_reached" | "billing_not_active" => QuotaExceeded,
        "invalid_api_key" | "authentication_error" => Authentication,
        "model_not_found" | "DeploymentNotFound" => ModelNotFound,
        "content_filter" | "content_policy_violation" | "ResponsibleAIPolicyViolation" => {
            ContentFilter
        }
        "server_error" => ServerError,
        "permission_denied" | "unsupported_country_region_territory" => Permission,
        _ => return None,
    })
}

fn anthropic_class(kind: &str, message: &str) -> Option<ErrorClass> {
    use ErrorClass::*;
    Some(match kind {
        // Refined from the message later (prompt too long, credit balance).
        "invalid_request_error" => InvalidRequest,
        "authentication_error" => Authentication,
        "permission_error" => Permission,
        "not_found_error" if MODEL_WORD.is_match(message) => ModelNotFound,
        "not_found_error" => InvalidRequest,
        "request_too_large" => ContextLength,
        "rate_limit_error" => RateLimit,
        "api_error" => ServerError,
        "overloaded_error" => Overloaded,
        "billing_error" => QuotaExceeded,
        "timeout_error" => Timeout,
        _ => return None,
    })
}

fn google_class(status: &str, message: &str, reasons: &[&str]) -> Option<ErrorClass> {
    use ErrorClass::*;
    let api_key = reasons.iter().any(|r| r.starts_with("API_KEY")) || API_KEY.is_match(message);
    Some(match status {
        "RESOURCE_EXHAUSTED"
            if message
                .to_ascii_lowercase()
                .contains("exceeded your current quota") =>
        {
            QuotaExceeded
        }
        "RESOURCE_EXHAUSTED" => RateLimit,
        "INVALID_ARGUMENT" | "PERMISSION_DENIED" | "UNAUTHENTICATED" if api_key => Authentication,
        "INVALID_ARGUMENT" if says(ContextLength, message) => ContextLength,
        "INVALID_ARGUMENT" | "OUT_OF_RANGE" => InvalidRequest,
        "UNAUTHENTICATED" => Authentication,
        "PERMISSION_DENIED" => Permission,
        "NOT_FOUND" if MODEL_WORD.is_match(message) => ModelNotFound,
        "NOT_FOUND" => InvalidRequest,
        "DEADLINE_EXCEEDED" => Timeout,
        "UNAVAILABLE" => Overloaded,
        "INTERNAL" | "UNKNOWN" => ServerError,
        "FAILED_PRECONDITION" if BILLING_OR_REGION.is_match(message) => Permission,
        "FAILED_PRECONDITION" => InvalidRequest,
        _ => return None,
    })
}

/// Parses `text` as a JSON object, falling back to Python-repr quoting.
fn parse_object(text: &str) -> Option<Value> {
    let text = text.trim();
    let ok = |s: &str| {
        serde_json::from_str::<Value>(s)
            .ok()
            .filter(|v| v.is_object() || v.is_array())
    };
    ok(text).or_else(|| {
        text.contains('\'')
            .then(|| ok(&python_repr_to_json(text)))
            .flatten()
    })
}

/// Finds the first parseable `{...}` embedded in text (tries a few candidates).
fn extract_json(text: &str) -> Option<Value> {
    text.match_indices('{').take(8).find_map(|(start, _)| {
        let end = matching_brace(&text.as_bytes()[start..])?;
        parse_object(text.get(start..=start + end)?)
    })
}

fn matching_brace(bytes: &[u8]) -> Option<usize> {
    let (mut depth, mut quote, mut escaped) = (0usize, None::<u8>, false);
    for (i, &b) in bytes.iter().enumerate() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == q {
                quote = None;
            }
            continue;
        }
        match b {
            b'"' | b'\'' => quote = Some(b),
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Rewrites a Python dict repr (`'` strings, None/True/False) as JSON.
fn python_repr_to_json(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push('"');
                while let Some(ch) = chars.next() {
                    match ch {
                        '\\' => match chars.next() {
                            Some('\'') => out.push('\''),
                            Some(n) => {
                                out.push('\\');
                                out.push(n);
                            }
                            None => {}
                        },
                        '"' if c == '\'' => out.push_str("\\\""),
                        ch if ch == c => break,
                        ch => out.push(ch),
                    }
                }
                out.push('"');
            }
            c if c.is_ascii_alphabetic() => {
                let mut word = String::from(c);
                while let Some(&n) = chars
                    .peek()
                    .filter(|n| n.is_ascii_alphanumeric() || **n == '_')
                {
                    word.push(n);
                    chars.next();
                }
                out.push_str(match word.as_str() {
                    "None" => "null",
                    "True" => "true",
                    "False" => "false",
                    w => w,
                });
            }
            c => out.push(c),
        }
    }
    out
}

fn suggestions(class: ErrorClass, provider: Option<Provider>) -> Vec<String> {
    use ErrorClass::*;
    use Provider::*;
    let base: &[&str] = match class {
        RateLimit => &[
            "Honour retry-after if present, else back off exponentially with jitter (1s, 2s, 4s... capped).",
            "Lower concurrency or add a client-side request/token budget so bursts stay under your RPM/TPM limits.",
            "Check the rate limits of your usage tier for this model; a higher tier or a limit increase raises them.",
            "Spread load across deployments, regions or keys, or use the batch API for bulk, non-interactive work.",
        ],
        QuotaExceeded => &[
            "Do not retry: requests keep failing until credit or quota is added.",
            "Open the provider's billing page: add credit, raise the spend limit or fix the payment method.",
            "Check the API key belongs to the organisation/project you expect to be billed.",
            "Set a budget alert so you hear about this before production does.",
        ],
        ContextLength => &[
            "Count tokens before sending and trim: drop or summarise old turns, shorten tool results, chunk long documents.",
            "Lower max_tokens: prompt plus requested output must fit the context window.",
            "Retrieve and send only the relevant passages instead of whole documents.",
            "Switch to a model with a larger context window.",
        ],
        Authentication => &[
            "Check the API key is set in this process's environment (e.g. OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY) and is not empty, quoted or truncated.",
            "Check the key matches the endpoint: an OpenAI key does not work on Azure, Anthropic or Gemini.",
            "Check the header: Authorization: Bearer for OpenAI, x-api-key for Anthropic, api-key for Azure.",
            "If the key was rotated, revoked or leaked, create a new one and update your secrets.",
        ],
        Permission => &[
            "Check the key's project or organisation has access to this model or endpoint (some need approval or a higher tier).",
            "Check the key's role or scopes: restricted keys and Azure RBAC roles can block operations.",
            "Check the region: the API may not be offered where you call it from.",
            "Ask an organisation owner for access, or use a key from a project that has it.",
        ],
        ContentFilter => &[
            "Do not retry the same input unchanged: it will be blocked again.",
            "Find which category fired in the error body and rephrase or sanitise the input.",
            "Screen user input first (e.g. a moderation endpoint) and tell users clearly when it is refused.",
            "If legitimate traffic is blocked, review the safety or content filter configuration.",
        ],
        InvalidRequest => &[
            "Read the error message and param field: they name the offending field.",
            "Validate the request against the API reference: roles and order, tool call/result pairing, tool schemas, value ranges.",
            "Check the SDK and API version agree (renamed parameters, e.g. max_tokens vs max_completion_tokens).",
            "Do not retry unchanged: the same request fails the same way.",
        ],
        ModelNotFound => &[
            "Check the model name for typos; copy the exact identifier from the provider's model list.",
            "On Azure, pass the deployment name (not the model name) and check it exists in this resource.",
            "Check the model is not deprecated or retired and that your key or project can use it.",
            "Check the base URL, API version and region: not every model is served everywhere.",
        ],
        Timeout => &[
            "Retry with backoff, but make sure repeating the call has no unwanted side effects.",
            "Raise the client timeout for long generations, or stream so tokens arrive before it fires.",
            "Do less per request: lower max_tokens, shorter prompts, fewer tools.",
            "If it persists, check the provider's status page and your proxy or network path.",
        ],
        ServerError => &[
            "Retry with exponential backoff and jitter; most 5xx errors are transient.",
            "If it persists, check the provider's status page.",
            "Log the request id (response header or body) when reporting it to the provider.",
            "Keep a fallback model or deployment for critical paths.",
        ],
        Overloaded => &[
            "Retry with exponential backoff and jitter; this is load at the provider, not your quota.",
            "Fail over to another model, region or deployment when latency matters.",
            "Lower your concurrency for a while rather than retrying in a tight loop.",
            "Check the provider's status page if it lasts more than a few minutes.",
        ],
        Network => &[
            "Retry with backoff: connection failures are often transient.",
            "Check the base URL, DNS, proxy variables (HTTPS_PROXY, NO_PROXY) and firewall egress rules.",
            "Check TLS: root certificates are installed and any intercepting proxy is trusted.",
            "Reuse one HTTP client (connection pool) instead of building one per request.",
        ],
        Unknown => &[
            "Read the full message and response body: this error matched no known pattern.",
            "Check the HTTP status code against the provider's error documentation.",
            "A single retry with backoff is reasonable; if it repeats, treat it as a bug.",
        ],
    };
    let extra = match (class, provider) {
        (RateLimit, Some(OpenAi)) => Some("Read the x-ratelimit-remaining-* headers; max_tokens counts against TPM, so keep it no higher than needed."),
        (RateLimit, Some(Azure)) => Some("Raise the deployment's tokens-per-minute quota, or add deployments in other regions."),
        (RateLimit, Some(Anthropic)) => Some("Read the anthropic-ratelimit-* headers to see which limit (requests, input or output tokens) ran out."),
        (RateLimit | QuotaExceeded, Some(Google)) => Some("Free-tier limits are low and daily quotas reset at midnight Pacific time; enabling billing raises them."),
        (ContentFilter, Some(Azure)) => Some("Read innererror.content_filter_result to see which category (hate, sexual, violence, self_harm) was filtered."),
        (ContentFilter, Some(Google)) => Some("Read promptFeedback and safetyRatings to see the harm category; adjust safetySettings if appropriate."),
        _ => None,
    };
    let mut out: Vec<String> = base.iter().map(|s| s.to_string()).collect();
    if let Some(extra) = extra {
        // For content filters the provider-specific pointer replaces the generic one.
        out.retain(|s| !s.starts_with("Find which category"));
        out.insert(1.min(out.len()), extra.to_string());
    }
    out.truncate(5);
    out
}

const OPENAI_ERRORS: &str = "https://platform.openai.com/docs/guides/error-codes";
const OPENAI_RATE_LIMITS: &str = "https://platform.openai.com/docs/guides/rate-limits";
const OPENAI_MODELS: &str = "https://platform.openai.com/docs/models";
const OPENAI_MODERATION: &str = "https://platform.openai.com/docs/guides/moderation";
const OPENAI_STATUS: &str = "https://status.openai.com";
const AZURE_QUOTAS: &str =
    "https://learn.microsoft.com/en-us/azure/ai-services/openai/quotas-limits";
const AZURE_FILTER: &str =
    "https://learn.microsoft.com/en-us/azure/ai-services/openai/concepts/content-filter";
const AZURE_MODELS: &str =
    "https://learn.microsoft.com/en-us/azure/ai-services/openai/concepts/models";
const AZURE_REFERENCE: &str =
    "https://learn.microsoft.com/en-us/azure/ai-services/openai/reference";
const ANTHROPIC_ERRORS: &str = "https://docs.anthropic.com/en/api/errors";
const ANTHROPIC_RATE_LIMITS: &str = "https://docs.anthropic.com/en/api/rate-limits";
const ANTHROPIC_CONTEXT: &str =
    "https://docs.anthropic.com/en/docs/build-with-claude/context-windows";
const ANTHROPIC_MODELS: &str = "https://docs.anthropic.com/en/docs/about-claude/models";
const ANTHROPIC_STATUS: &str = "https://status.anthropic.com";
const GEMINI_TROUBLESHOOTING: &str = "https://ai.google.dev/gemini-api/docs/troubleshooting";
const GEMINI_RATE_LIMITS: &str = "https://ai.google.dev/gemini-api/docs/rate-limits";
const GEMINI_MODELS: &str = "https://ai.google.dev/gemini-api/docs/models";
const GEMINI_TOKENS: &str = "https://ai.google.dev/gemini-api/docs/tokens";
const GEMINI_SAFETY: &str = "https://ai.google.dev/gemini-api/docs/safety-settings";
const GEMINI_API_KEY: &str = "https://ai.google.dev/gemini-api/docs/api-key";

fn provider_docs(class: ErrorClass, provider: Provider) -> &'static [&'static str] {
    use ErrorClass::*;
    use Provider::*;
    match (provider, class) {
        (OpenAi, RateLimit) => &[OPENAI_RATE_LIMITS, OPENAI_ERRORS],
        (OpenAi, QuotaExceeded) => &[OPENAI_ERRORS, OPENAI_RATE_LIMITS],
        (OpenAi, ContextLength | ModelNotFound) => &[OPENAI_MODELS, OPENAI_ERRORS],
        (OpenAi, ContentFilter) => &[OPENAI_MODERATION, OPENAI_ERRORS],
        (OpenAi, ServerError | Overloaded) => &[OPENAI_ERRORS, OPENAI_STATUS],
        (OpenAi, _) => &[OPENAI_ERRORS],
        (Azure, RateLimit | QuotaExceeded) => &[AZURE_QUOTAS],
        (Azure, ContentFilter) => &[AZURE_FILTER],
        (Azure, ContextLength | ModelNotFound) => &[AZURE_MODELS],
        (Azure, _) => &[AZURE_REFERENCE],
        (Anthropic, RateLimit | QuotaExceeded) => &[ANTHROPIC_RATE_LIMITS, ANTHROPIC_ERRORS],
        (Anthropic, ContextLength) => &[ANTHROPIC_CONTEXT, ANTHROPIC_ERRORS],
        (Anthropic, ModelNotFound) => &[ANTHROPIC_MODELS, ANTHROPIC_ERRORS],
        (Anthropic, ServerError | Overloaded) => &[ANTHROPIC_ERRORS, ANTHROPIC_STATUS],
        (Anthropic, _) => &[ANTHROPIC_ERRORS],
        (Google, RateLimit | QuotaExceeded) => &[GEMINI_RATE_LIMITS, GEMINI_TROUBLESHOOTING],
        (Google, ContextLength) => &[GEMINI_TOKENS, GEMINI_MODELS],
        (Google, ModelNotFound) => &[GEMINI_MODELS],
        (Google, Authentication) => &[GEMINI_API_KEY, GEMINI_TROUBLESHOOTING],
        (Google, ContentFilter) => &[GEMINI_SAFETY, GEMINI_TROUBLESHOOTING],
        (Google, _) => &[GEMINI_TROUBLESHOOTING],
    }
}

/// Provider-specific links, or the main link of each provider when unknown.
fn docs(class: ErrorClass, provider: Option<Provider>) -> Vec<String> {
    use Provider::*;
    let mut out: Vec<String> = Vec::new();
    let links: Vec<&str> = match provider {
        Some(p) => provider_docs(class, p).to_vec(),
        None => [OpenAi, Azure, Anthropic, Google]
            .into_iter()
            .filter(|p| {
                *p != Azure || matches!(class, ErrorClass::RateLimit | ErrorClass::ContentFilter)
            })
            .filter_map(|p| provider_docs(class, p).first().copied())
            .collect(),
    };
    for link in links {
        if !out.iter().any(|l| l == link) {
            out.push(link.to_string());
        }
    }
    out
}

fn truncate_chars(s: &str, max: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

fn format_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}.{:03}s", ms / 1000, ms % 1000)
    }
}

/// Appends `text` word-wrapped at 78 columns.
fn push_wrapped(out: &mut String, text: &str, first: &str, rest: &str) {
    const WIDTH: usize = 78;
    let mut line = first.to_string();
    let mut width = first.chars().count();
    let mut empty = true;
    for word in text.split_whitespace() {
        let w = word.chars().count();
        if !empty && width + 1 + w > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_string();
            width = rest.chars().count();
            empty = true;
        }
        if !empty {
            line.push(' ');
            width += 1;
        }
        line.push_str(word);
        width += w;
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::ErrorClass::*;
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            (
                $name,
                include_str!(concat!("../tests/fixtures/", $name, ".json")),
            )
        };
    }

    /// (fixture, body, http_status, class, provider)
    fn fixtures() -> Vec<(&'static str, &'static str, u16, ErrorClass, &'static str)> {
        let rows = [
            (
                fixture!("openai_error_400_context_length_exceeded"),
                400,
                ContextLength,
                "openai",
            ),
            (
                fixture!("openai_error_401_invalid_api_key"),
                401,
                Authentication,
                "openai",
            ),
            (
                fixture!("openai_error_429_rate_limit_exceeded_tpm"),
                429,
                RateLimit,
                "openai",
            ),
            (
                fixture!("anthropic_error_400_invalid_request_error"),
                400,
                InvalidRequest,
                "anthropic",
            ),
            (
                fixture!("anthropic_error_401_authentication_error"),
                401,
                Authentication,
                "anthropic",
            ),
            (
                fixture!("anthropic_error_429_rate_limit_error"),
                429,
                RateLimit,
                "anthropic",
            ),
            (
                fixture!("azure_openai_error_400_content_filter"),
                400,
                ContentFilter,
                "azure_openai",
            ),
        ];
        rows.into_iter()
            .map(|((n, b), s, c, p)| (n, b, s, c, p))
            .collect()
    }

    #[test]
    fn every_error_fixture_is_listed_with_the_manifest_status() {
        let manifest: Value =
            serde_json::from_str(include_str!("../tests/fixtures/MANIFEST.json")).unwrap();
        let table = fixtures();
        let mut seen = 0;
        for entry in manifest.as_array().unwrap() {
            let file = entry["file"].as_str().unwrap();
            if !file.contains("error") {
                continue;
            }
            let row = table.iter().find(|r| format!("{}.json", r.0) == file);
            let row = row.unwrap_or_else(|| panic!("{file} has no test row"));
            assert_eq!(
                entry["http_status"].as_u64(),
                Some(u64::from(row.2)),
                "{file}"
            );
            seen += 1;
        }
        assert_eq!(seen, table.len());
    }

    #[test]
    fn fixtures_classify_with_status_and_from_body_alone() {
        for (name, body, status, class, provider) in fixtures() {
            for d in [
                diagnose_parts(Some(status), Some(body), "", None),
                diagnose_parts(None, Some(body), "", None),
                diagnose_text(body),
            ] {
                assert_eq!(d.class, class, "{name}");
                assert_eq!(d.provider.as_deref(), Some(provider), "{name}");
                assert_eq!(d.retryable, class.retryable(), "{name}");
                assert!(!d.message.is_empty() && !d.docs.is_empty(), "{name}");
            }
        }
    }

    #[test]
    fn fixture_details() {
        let (_, body) = fixture!("openai_error_429_rate_limit_exceeded_tpm");
        let d = diagnose_parts(Some(429), Some(body), "", None);
        assert_eq!(d.retry_after_ms, Some(26604));
        assert_eq!(d.code.as_deref(), Some("rate_limit_exceeded"));
        assert!(d.message.starts_with("Rate limit reached for gpt-4"));
        let (_, body) = fixture!("openai_error_400_context_length_exceeded");
        let d = diagnose_parts(Some(400), Some(body), "", None);
        assert_eq!(d.code.as_deref(), Some("context_length_exceeded"));
        let (_, body) = fixture!("azure_openai_error_400_content_filter");
        let d = diagnose_parts(None, Some(body), "", None);
        assert_eq!(
            (d.http_status, d.code.as_deref()),
            (Some(400), Some("content_filter"))
        );
        assert!(d.docs[0].contains("content-filter"));
        let (_, body) = fixture!("anthropic_error_429_rate_limit_error");
        let d = diagnose_parts(Some(429), Some(body), "", None);
        assert_eq!(d.code.as_deref(), Some("rate_limit_error"));
        assert_eq!(d.docs[0], ANTHROPIC_RATE_LIMITS);
    }

    fn gemini(code: u16, status: &str, message: &str) -> String {
        serde_json::json!({"error": {"code": code, "message": message, "status": status}})
            .to_string()
    }

    fn openai(message: &str, kind: &str, code: &str) -> String {
        let body =
            serde_json::json!({"message": message, "type": kind, "param": null, "code": code});
        serde_json::json!({ "error": body }).to_string()
    }

    fn anthropic(kind: &str, message: &str) -> String {
        serde_json::json!({"type": "error", "error": {"type": kind, "message": message}})
            .to_string()
    }

    #[test]
    fn provider_bodies() {
        let quota = "You exceeded your current quota, please check your plan and billing details.";
        let cases: Vec<(u16, String, ErrorClass, &str)> = vec![
            (429, openai(quota, "insufficient_quota", "insufficient_quota"), QuotaExceeded, "openai"),
            (404, openai("The model `gpt-9` does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"), ModelNotFound, "openai"),
            (500, openai("The server had an error while processing your request.", "server_error", ""), ServerError, "openai"),
            (503, openai("The engine is currently overloaded, please try again later", "server_error", ""), Overloaded, "openai"),
            (403, openai("Country, region, or territory not supported", "request_forbidden", "unsupported_country_region_territory"), Permission, "openai"),
            (400, openai("Your request was rejected as a result of our safety system.", "invalid_request_error", "content_policy_violation"), ContentFilter, "openai"),
            (400, openai("Invalid 'temperature': decimal above maximum value.", "invalid_request_error", "decimal_above_max_value"), InvalidRequest, "openai"),
            (429, r#"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-02-01 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds."}}"#.into(), RateLimit, "azure_openai"),
            (404, r#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}"#.into(), ModelNotFound, "azure_openai"),
            (529, anthropic("overloaded_error", "Overloaded"), Overloaded, "anthropic"),
            (400, anthropic("invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum"), ContextLength, "anthropic"),
            (400, anthropic("invalid_request_error", "Your credit balance is too low to access the Anthropic API."), QuotaExceeded, "anthropic"),
            (403, anthropic("permission_error", "Your API key does not have permission to use the specified resource."), Permission, "anthropic"),
            (404, anthropic("not_found_error", "model: claude-9-opus"), ModelNotFound, "anthropic"),
            (404, anthropic("not_found_error", "Not found"), InvalidRequest, "anthropic"),
            (413, anthropic("request_too_large", "Request exceeds the maximum allowed number of bytes."), ContextLength, "anthropic"),
            (500, anthropic("api_error", "Internal server error"), ServerError, "anthropic"),
            (402, anthropic("billing_error", "Billing issue"), QuotaExceeded, "anthropic"),
            (504, anthropic("timeout_error", "Request timed out"), Timeout, "anthropic"),
            (429, r#"{"type":"error","error":{"type":"rate_limit_error","message":"spend limit","details":{"error_code":"enforced_spend_limit_reached"}}}"#.into(), QuotaExceeded, "anthropic"),
            (429, gemini(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."), RateLimit, "google"),
            (429, gemini(429, "RESOURCE_EXHAUSTED", quota), QuotaExceeded, "google"),
            (400, gemini(400, "INVALID_ARGUMENT", "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."), ContextLength, "google"),
            (400, gemini(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown name \"foo\": Cannot find field."), InvalidRequest, "google"),
            (400, gemini(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."), Authentication, "google"),
            (503, gemini(503, "UNAVAILABLE", "The model is overloaded. Please try again later."), Overloaded, "google"),
            (504, gemini(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."), Timeout, "google"),
            (500, gemini(500, "INTERNAL", "An internal error has occurred."), ServerError, "google"),
            (404, gemini(404, "NOT_FOUND", "models/gemini-9 is not found for API version v1beta"), ModelNotFound, "google"),
            (400, gemini(400, "FAILED_PRECONDITION", "User location is not supported for the API use."), Permission, "google"),
            (403, gemini(403, "PERMISSION_DENIED", "Your API key was reported as leaked."), Authentication, "google"),
            (200, r#"{"promptFeedback":{"blockReason":"SAFETY"}}"#.into(), ContentFilter, "google"),
            (200, r#"{"candidates":[{"finishReason":"PROHIBITED_CONTENT"}]}"#.into(), ContentFilter, "google"),
        ];
        for (status, body, class, provider) in &cases {
            for d in [
                diagnose_parts(Some(*status), Some(body), "", None),
                diagnose_text(body),
            ] {
                assert_eq!(
                    (d.class, d.provider.as_deref()),
                    (*class, Some(*provider)),
                    "{body}"
                );
            }
        }
        let d = diagnose_text(&cases[7].1);
        assert_eq!((d.http_status, d.retry_after_ms), (Some(429), Some(6000)));
        let body = r#"{"error":{"code":429,"message":"Quota exceeded for quota metric per minute.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"26s"}]}}"#;
        let d = diagnose_parts(Some(429), Some(body), "", None);
        assert_eq!((d.class, d.retry_after_ms), (RateLimit, Some(26_000)));
        let d = diagnose_parts(
            Some(401),
            Some("Access denied due to invalid subscription key."),
            "",
            Some("az.ai.openai"),
        );
        assert_eq!(
            (d.class, d.provider.as_deref()),
            (Authentication, Some("azure_openai"))
        );
    }

    #[test]
    fn sdk_repr_text() {
        let d = diagnose_text("Error code: 429 - {'error': {'message': 'You exceeded your current quota, please check your plan and billing details.', 'type': 'insufficient_quota', 'param': None, 'code': 'insufficient_quota'}}");
        assert_eq!(
            (d.class, d.http_status, d.code.as_deref()),
            (QuotaExceeded, Some(429), Some("insufficient_quota"))
        );
        assert!(!d.retryable);
        let d = diagnose_text("Error code: 429 - {'error': {'message': 'Rate limit reached for gpt-4o on requests per min (RPM): Limit 3. Please try again in 20s.', 'type': 'requests', 'param': None, 'code': 'rate_limit_exceeded'}}");
        assert_eq!(
            (d.class, d.retry_after_ms, d.provider.as_deref()),
            (RateLimit, Some(20_000), Some("openai"))
        );
        let d = diagnose_text("Error code: 400 - {'error': {'message': \"This model's maximum context length is 8192 tokens.\", 'type': 'invalid_request_error', 'param': 'messages', 'code': 'context_length_exceeded'}}");
        assert_eq!(
            (d.class, d.message.as_str()),
            (
                ContextLength,
                "This model's maximum context length is 8192 tokens."
            )
        );
        let d = diagnose_text("Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}}");
        assert_eq!(
            (d.class, d.provider.as_deref()),
            (Overloaded, Some("anthropic"))
        );
    }

    #[test]
    fn plain_text_for_every_class() {
        let cases = [
            ("429 Too Many Requests", RateLimit),
            ("Rate limit reached, slow down", RateLimit),
            ("You exceeded your current quota", QuotaExceeded),
            ("This model's maximum context length is 4097 tokens", ContextLength),
            ("Incorrect API key provided: sk-abc", Authentication),
            ("status 401", Authentication),
            ("HTTP 403 Forbidden", Permission),
            ("The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", ContentFilter),
            ("Error code: 400 - bad field", InvalidRequest),
            ("The model `gpt-9` does not exist", ModelNotFound),
            ("operation timed out", Timeout),
            ("HTTP 502 Bad Gateway", ServerError),
            ("Anthropic API is overloaded", Overloaded),
            ("error sending request for url (https://api.openai.com/v1/chat/completions)", Network),
            ("Connection error.", Network),
            ("something odd happened", Unknown),
        ];
        for (text, class) in cases {
            assert_eq!(diagnose_text(text).class, class, "{text}");
        }
        let d = diagnose_text("The response was filtered: Azure content management policy.");
        assert_eq!(d.provider.as_deref(), Some("azure_openai"));
        assert_eq!(
            diagnose_text("Error code: 404 - not here").class,
            InvalidRequest
        );
    }

    #[test]
    fn near_misses_are_unknown() {
        for text in [
            "The prompt used 4290 tokens",
            "order #14290 shipped",
            "invoice 401 is paid",
            "room 429",
            "our refund policy is generous",
            "model returned 503 results",
            "order 429-A is ready",
        ] {
            let d = diagnose_text(text);
            assert_eq!(d.class, Unknown, "{text}");
            assert_eq!((d.http_status, d.retry_after_ms), (None, None), "{text}");
        }
    }

    struct Transport(ErrorClass);
    impl fmt::Display for Transport {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("boom: rate limit")
        }
    }
    impl HttpErrorDetails for Transport {
        fn transport_failure(&self) -> Option<ErrorClass> {
            Some(self.0)
        }
        fn retry_after(&self) -> Option<Duration> {
            Some(Duration::from_millis(1500))
        }
    }

    #[test]
    fn trait_details_win() {
        let d = diagnose(&Transport(Timeout));
        assert_eq!((d.class, d.retry_after_ms), (Timeout, Some(1500)));
        assert_eq!(diagnose(&Transport(Network)).class, Network);
        assert_eq!(diagnose("status 401").class, Authentication);
        assert_eq!(diagnose(&String::from("overloaded")).class, Overloaded);
    }

    #[cfg(feature = "async-openai")]
    #[test]
    fn async_openai_api_error() {
        use async_openai::error::{ApiError, ApiErrorResponse, OpenAIError};
        let api_error = ApiError {
            message: "You exceeded your current quota, please check your plan.".into(),
            r#type: Some("insufficient_quota".into()),
            code: Some("insufficient_quota".into()),
            ..ApiError::default()
        };
        let status_code = reqwest::StatusCode::TOO_MANY_REQUESTS;
        let d = diagnose(&OpenAIError::ApiError(ApiErrorResponse {
            status_code,
            api_error,
        }));
        assert_eq!((d.class, d.http_status), (QuotaExceeded, Some(429)));
        assert_eq!(d.provider.as_deref(), Some("openai"));
        let d = diagnose(&OpenAIError::InvalidArgument("bad".into()));
        assert_eq!(d.class, Unknown);
    }

    #[test]
    fn retry_after_parsing() {
        for (text, ms) in [
            ("Please try again in 26.604s. Visit ...", Some(26_604)),
            ("try again in 20s", Some(20_000)),
            ("Please retry after 3 seconds.", Some(3_000)),
            ("try again in 500ms", Some(500)),
            ("Try again in 1m30s", Some(90_000)),
            ("Please retry in 26.606367235s.", Some(26_606)),
            ("try again later", None),
            ("retry after 3 more attempts", None),
        ] {
            assert_eq!(parse_retry_after(text), ms, "{text}");
        }
    }

    #[test]
    fn error_class_names_round_trip() {
        let mut names: Vec<&str> = ErrorClass::ALL.iter().map(|c| c.as_str()).collect();
        names.dedup();
        assert_eq!(names.len(), 13);
        for c in ErrorClass::ALL {
            assert_eq!(c.to_string(), c.as_str());
            assert_eq!(c.as_str().parse::<ErrorClass>(), Ok(c));
            assert_eq!(c.as_str().to_uppercase().parse::<ErrorClass>(), Ok(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<ErrorClass>(&json).unwrap(), c);
            assert!(!c.meaning().is_empty());
        }
        assert!("nope".parse::<ErrorClass>().is_err());
        let retryable: Vec<ErrorClass> = ErrorClass::ALL
            .into_iter()
            .filter(|c| c.retryable())
            .collect();
        assert_eq!(
            retryable,
            [RateLimit, Timeout, ServerError, Overloaded, Network]
        );
    }

    #[test]
    fn suggestions_docs_and_render() {
        let providers = [
            None,
            Some(Provider::OpenAi),
            Some(Provider::Azure),
            Some(Provider::Anthropic),
            Some(Provider::Google),
        ];
        for c in ErrorClass::ALL {
            for p in providers {
                assert!((3..=5).contains(&suggestions(c, p).len()), "{c} {p:?}");
                let docs = docs(c, p);
                assert!(!docs.is_empty() && docs.iter().all(|d| d.starts_with("https://")));
            }
        }
        assert_eq!(docs(RateLimit, None).len(), 4);
        let (_, body) = fixture!("openai_error_429_rate_limit_exceeded_tpm");
        let d = diagnose_parts(Some(429), Some(body), "", None);
        let text = d.render();
        assert!(text
            .starts_with("error.type = rate_limit (openai, HTTP 429, code rate_limit_exceeded)\n"));
        assert!(
            text.contains("retry: yes, after 26.604s") && text.contains("\n  - Honour retry-after")
        );
        assert!(
            text.lines()
                .all(|l| l.chars().count() <= 80 || l.contains("https://")),
            "{text}"
        );
        let back: Diagnosis = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
    }
}
