//! Secrets never leave the process: a labelled corpus, generated when the
//! tests run (no realistic-looking token is committed), of every secret
//! format the scanner knows in every embedding a user's text gives it
//! (prose, JSON-escaped, quoted, in a URL, at a line end, next to
//! punctuation), with the near-misses that must survive; then every output
//! of a real call with all of them in its content, bound context and error.

mod common;

use std::borrow::Cow;
use std::collections::BTreeMap;

use llm_traced::redaction::{redact_with, Mode};

/// xorshift64*: deterministic test data without dependencies.
pub struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chars(&mut self, alphabet: &str, len: usize) -> String {
        let alphabet = alphabet.as_bytes();
        (0..len)
            .map(|_| char::from(alphabet[self.below(alphabet.len())]))
            .collect()
    }

    fn chars_in(&mut self, alphabet: &str, lo: usize, hi: usize) -> String {
        let len = self.between(lo, hi);
        self.chars(alphabet, len)
    }

    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
}

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &str = "0123456789abcdef";
const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const UPPER32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const DIGITS: &str = "0123456789";
/// Password characters: what survives in a URL or after `password:`
/// unquoted (no blank, quote, `,`, `;`, `&`, `\`, `@`, `/`, `:`).
const PASSWORD: &str = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!$*-_~+";

/// One labelled sample: the text inserted into an embedding, and the part of
/// it that must not survive.
pub struct Case {
    pub text: String,
    pub secret: String,
}

fn same(secret: String) -> Case {
    Case {
        text: secret.clone(),
        secret,
    }
}

fn around(text: String, secret: String) -> Case {
    Case { text, secret }
}

fn base64(bytes: &[u8]) -> String {
    let alphabet = B64.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (k, &b)| n | u32::from(b) << (16 - 8 * k));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(alphabet[(n >> (18 - 6 * k) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn pem(rng: &mut Rng, label: &str) -> Case {
    let body: Vec<String> = (0..rng.between(2, 5)).map(|_| rng.chars(B64, 64)).collect();
    let body = body.join("\n");
    let block =
        format!("-----BEGIN {label}PRIVATE KEY-----\n{body}\n-----END {label}PRIVATE KEY-----");
    around(block, body)
}

/// Every format: its name and a generator of fresh samples.
#[allow(clippy::type_complexity)]
pub fn formats() -> Vec<(&'static str, fn(&mut Rng) -> Case)> {
    vec![
        ("openai legacy", |r| {
            same(format!("sk-{}", r.chars(ALNUM, 48)))
        }),
        ("openai project", |r| {
            same(format!("sk-proj-{}", r.chars_in(B64URL, 100, 160)))
        }),
        ("openai service account", |r| {
            same(format!("sk-svcacct-{}", r.chars(B64URL, 120)))
        }),
        ("openai admin", |r| {
            same(format!("sk-admin-{}", r.chars(B64URL, 120)))
        }),
        ("anthropic", |r| {
            same(format!("sk-ant-api03-{}AA", r.chars(B64URL, 93)))
        }),
        ("anthropic admin", |r| {
            same(format!("sk-ant-admin01-{}AA", r.chars(B64URL, 93)))
        }),
        ("google api key", |r| {
            same(format!("AIza{}", r.chars(B64URL, 35)))
        }),
        ("groq", |r| same(format!("gsk_{}", r.chars(ALNUM, 52)))),
        ("xai", |r| same(format!("xai-{}", r.chars(ALNUM, 80)))),
        ("hugging face", |r| {
            same(format!("hf_{}", r.chars(LETTERS, 34)))
        }),
        ("replicate", |r| same(format!("r8_{}", r.chars(ALNUM, 37)))),
        ("openrouter", |r| {
            same(format!("sk-or-v1-{}", r.chars(HEX, 64)))
        }),
        ("perplexity", |r| {
            same(format!("pplx-{}", r.chars(ALNUM, 48)))
        }),
        ("fireworks", |r| same(format!("fw_{}", r.chars(ALNUM, 24)))),
        ("aws access key id", |r| {
            let prefix = r.pick(&["AKIA", "ASIA", "ABIA", "ACCA"]);
            same(format!("{prefix}{}", r.chars(UPPER32, 16)))
        }),
        ("aws secret access key", |r| {
            let secret = r.chars(B64, 40);
            let name = r.pick(&[
                "aws_secret_access_key = ",
                "AWS_SECRET_ACCESS_KEY=",
                "\"SecretAccessKey\": \"",
                "secret_access_key: ",
            ]);
            let close = if name.ends_with('"') { "\"" } else { "" };
            around(format!("{name}{secret}{close}"), secret)
        }),
        ("gcp service account private_key", |r| {
            let body = r.chars(B64, 64);
            let text = format!(
                r#""private_key": "-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n""#
            );
            around(text, body)
        }),
        ("azure storage connection string", |r| {
            let key = format!("{}==", r.chars(B64, 86));
            let account = r.chars("abcdefghijklmnopqrstuvwxyz", 10);
            let text = format!(
                "DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};EndpointSuffix=core.windows.net"
            );
            around(text, key)
        }),
        ("azure shared access key", |r| {
            let key = format!("{}=", r.chars(B64, 43));
            let text = format!(
                "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={key}"
            );
            around(text, key)
        }),
        ("github classic", |r| {
            let prefix = r.pick(&["ghp", "gho", "ghu", "ghs", "ghr"]);
            same(format!("{prefix}_{}", r.chars(ALNUM, 36)))
        }),
        ("github fine-grained", |r| {
            same(format!(
                "github_pat_{}_{}",
                r.chars(ALNUM, 22),
                r.chars(ALNUM, 59)
            ))
        }),
        ("gitlab", |r| {
            let prefix = r.pick(&["glpat-", "gldt-", "glrt-", "glptt-"]);
            same(format!("{prefix}{}", r.chars(B64URL, 20)))
        }),
        ("npm", |r| same(format!("npm_{}", r.chars(ALNUM, 36)))),
        ("pypi", |r| {
            same(format!(
                "pypi-AgEIcHlwaS5vcmc{}",
                r.chars_in(B64URL, 60, 180)
            ))
        }),
        ("crates.io", |r| same(format!("cio{}", r.chars(ALNUM, 32)))),
        ("slack bot and user tokens", |r| {
            let kind = r.pick(&["xoxb", "xoxp", "xoxa", "xoxr"]);
            same(format!(
                "{kind}-{}-{}-{}",
                r.chars(DIGITS, 12),
                r.chars(DIGITS, 13),
                r.chars(ALNUM, 24)
            ))
        }),
        ("slack app token", |r| {
            same(format!(
                "xapp-1-A{}-{}-{}",
                r.chars(ALNUM, 10).to_uppercase(),
                r.chars(DIGITS, 13),
                r.chars(HEX, 64)
            ))
        }),
        ("slack webhook", |r| {
            let path = format!(
                "T{}/B{}/{}",
                r.chars(ALNUM, 8).to_uppercase(),
                r.chars(ALNUM, 10).to_uppercase(),
                r.chars(ALNUM, 24)
            );
            around(format!("https://hooks.slack.com/services/{path}"), path)
        }),
        ("stripe", |r| {
            let prefix = r.pick(&["sk_live_", "rk_live_", "sk_test_", "rk_test_"]);
            same(format!("{prefix}{}", r.chars_in(ALNUM, 24, 99)))
        }),
        ("twilio", |r| same(format!("SK{}", r.chars(HEX, 32)))),
        ("sendgrid", |r| {
            same(format!(
                "SG.{}.{}",
                r.chars(B64URL, 22),
                r.chars(B64URL, 43)
            ))
        }),
        ("telegram bot", |r| {
            let token = format!("{}:AA{}", r.chars(DIGITS, 10), r.chars(B64URL, 33));
            if r.below(2) == 0 {
                same(token)
            } else {
                around(format!("https://api.telegram.org/bot{token}/getMe"), token)
            }
        }),
        ("discord bot", |r| {
            let first = r.pick(&["M", "N", "O"]);
            same(format!(
                "{first}{}.{}.{}",
                r.chars(ALNUM, 23),
                r.chars(B64URL, 6),
                r.chars(B64URL, 38)
            ))
        }),
        ("discord webhook", |r| {
            let path = format!("{}/{}", r.chars(DIGITS, 18), r.chars(B64URL, 68));
            around(format!("https://discord.com/api/webhooks/{path}"), path)
        }),
        ("shopify", |r| {
            let prefix = r.pick(&["shpat_", "shpca_", "shppa_", "shpss_"]);
            same(format!("{prefix}{}", r.chars(HEX, 32)))
        }),
        ("databricks", |r| same(format!("dapi{}", r.chars(HEX, 32)))),
        ("jwt", |r| {
            let (a, b) = (r.between(20, 40), r.between(30, 90));
            same(format!(
                "eyJ{}.eyJ{}.{}",
                r.chars(B64URL, a),
                r.chars(B64URL, b),
                r.chars(B64URL, 43)
            ))
        }),
        ("bearer", |r| {
            let token = r.chars(
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~+-",
                32,
            );
            let scheme = r.pick(&["Bearer ", "bearer ", "Authorization: Bearer "]);
            around(format!("{scheme}{token}"), token)
        }),
        ("basic", |r| {
            let user = r.chars(LETTERS, 8);
            let password = r.chars(PASSWORD, 14);
            let credentials = base64(format!("{user}:{password}").as_bytes());
            around(format!("Authorization: Basic {credentials}"), credentials)
        }),
        ("pem private key", |r| {
            let label = r.pick(&["", "RSA ", "EC ", "DSA ", "ENCRYPTED "]);
            pem(r, label)
        }),
        ("openssh private key", |r| pem(r, "OPENSSH ")),
        ("url password", |r| {
            let password = r.chars_in(PASSWORD, 8, 24);
            let url = match r.below(3) {
                0 => format!("https://admin:{password}@example.com/login"),
                1 => format!("postgres://app:{password}@db.internal:5432/app"),
                _ => format!("redis://:{password}@cache:6379/0"),
            };
            around(url, password)
        }),
        ("credential query parameter", |r| {
            let value = r.chars_in(ALNUM, 16, 40);
            let name = r.pick(&[
                "key",
                "api_key",
                "access_token",
                "sig",
                "token",
                "apikey",
                "X-Amz-Signature",
            ]);
            let url = format!("https://api.example.com/v1/items?page=2&{name}={value}&sort=asc");
            around(url, value)
        }),
        ("named value in text", |r| {
            let value = r.chars_in(PASSWORD, 6, 24);
            let name = r.pick(&[
                "password: ",
                "Password = ",
                "db_password=",
                "client_secret: ",
                "API_KEY=",
                "x-api-key: ",
                "passwd=",
                "token: ",
                "Cookie: session=",
            ]);
            around(format!("{name}{value}"), value)
        }),
        ("named value in JSON text", |r| {
            let value = r.chars_in(PASSWORD, 6, 24);
            let name = r.pick(&["password", "api_key", "apiKey", "secret", "accessToken"]);
            around(format!(r#"{{"{name}": "{value}", "n": 1}}"#), value)
        }),
        ("authorization header, other schemes", |r| {
            let value = r.chars_in(ALNUM, 6, 30);
            let scheme = r.pick(&["Token ", "Digest ", ""]);
            around(format!("Authorization: {scheme}{value}"), value)
        }),
    ]
}

/// The embeddings: where a user's text puts a secret.
pub const EMBEDDINGS: &[&str] = &[
    "prose",
    "json-escaped",
    "json-escaped twice",
    "double-quoted",
    "single-quoted",
    "url",
    "line end",
    "crlf line end",
    "punctuation",
    "alone",
];

/// `text` in the embedding `how`.
pub fn embed(how: &str, text: &str) -> String {
    match how {
        "prose" => format!("Here is what I pasted {text} and the build still fails."),
        "json-escaped" => serde_json::to_string(&format!("line one\n{text}\nline two")).unwrap(),
        "json-escaped twice" => {
            let once = serde_json::to_string(&format!("line one\n{text}\nline two")).unwrap();
            serde_json::to_string(&format!("{{\"body\": {once}}}")).unwrap()
        }
        "double-quoted" => format!("the value \"{text}\" was rejected"),
        "single-quoted" => format!("set it to '{text}' then"),
        "url" => format!("GET https://api.example.com/v1/{text}/status?ok=1 failed"),
        "line end" => format!("first line\nthe value is {text}\nnext line"),
        "crlf line end" => format!("first line\r\n{text}\r\n"),
        "punctuation" => format!("see ({text}), [{text}]; <{text}>. {text}! {text}?"),
        "alone" => text.to_owned(),
        _ => unreachable!("{how}"),
    }
}

/// Text that must survive untouched (secrets-only mode, every embedding).
pub fn near_misses(rng: &mut Rng) -> Vec<String> {
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        rng.chars(HEX, 8),
        rng.chars(HEX, 4),
        rng.chars(HEX, 4),
        rng.chars(HEX, 4),
        rng.chars(HEX, 12)
    );
    let mut misses: Vec<String> = [
        "scikit-learn",
        "task-force",
        "hf_transfer",
        "npm_config_cache",
        "the token count was 4096",
        "password reset link",
        "Bearer of bad news",
        "max_tokens: 4096",
        "token_count=12",
        "author: Jane Austen",
        r#"{"password": {"type": "string", "minLength": 8}}"#,
        "sk-learn and sk-short-key",
        "Basic usage: run it twice",
        "Basic authentication is weak",
        "AKIAIOSFODNN7EXAMPL",
        "https://example.com/search?page=2&sort=asc",
        "postgres://localhost:5432/app",
        "https://user@example.com/repo.git",
        "session_id: chat-42",
        "secret_name: prod-db",
        "the key: keep it simple",
        "std::io::Error at 10:30",
        "x == y, a != b, c => d",
        "Mozilla/5.0 (X11; Linux x86_64)",
        "sha256:9f86d081884c7d659a2feaa0c55ad015",
        "hooks.slack.com/help",
        "discord.com/channels/123/456",
        "Ship it on 2024-05-17, version 2.4.1.",
        "jane.doe@example.com",
        "+1 (555) 123-4567",
        "cio-roundtable",
        "the SKU is SK-1234",
        "dapi and pypi-server",
        "Send SIGTERM and wait",
        "signature: Best regards, Jane",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    misses.push(rng.chars(HEX, 40)); // a git SHA
    misses.push(uuid);
    misses.push(format!("commit {}", rng.chars(HEX, 40)));
    misses
}

/// `text` JSON-escaped, without the quotes.
fn escape(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap();
    quoted[1..quoted.len() - 1].to_owned()
}

/// Whether `output` still holds `secret`, raw or JSON-escaped once or twice.
fn leaks(output: &str, secret: &str) -> bool {
    let once = escape(secret);
    output.contains(secret) || output.contains(&once) || output.contains(&escape(&once))
}

const ROUNDS: usize = 25;

#[test]
fn recall_is_one_for_every_format_in_every_embedding() {
    let mut report = BTreeMap::new();
    let mut failures = Vec::new();
    for (k, (name, generate)) in formats().into_iter().enumerate() {
        let mut rng =
            Rng(0x9E37_79B9_7F4A_7C15 ^ (k as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
        let (mut found, mut total) = (0, 0);
        for _ in 0..ROUNDS {
            let case = generate(&mut rng);
            for how in EMBEDDINGS {
                let text = embed(how, &case.text);
                assert!(
                    leaks(&text, &case.secret),
                    "{name}: the sample holds its secret"
                );
                for mode in [Mode::All, Mode::SecretsOnly] {
                    total += 1;
                    let out = redact_with(&text, mode);
                    if leaks(&out, &case.secret) {
                        if failures.len() < 20 {
                            failures
                                .push(format!("{name} / {how} / {mode:?}:\n  {text}\n  -> {out}"));
                        }
                    } else {
                        found += 1;
                    }
                }
            }
        }
        report.insert(name, (found, total));
    }
    for (name, (found, total)) in &report {
        eprintln!("{name:40} {found:4}/{total:4}");
    }
    let below: Vec<String> = report
        .iter()
        .filter(|(_, (found, total))| found < total)
        .map(|(name, (found, total))| {
            format!("{name}: recall {:.3}", *found as f64 / *total as f64)
        })
        .collect();
    assert!(
        below.is_empty(),
        "{}\n\nfirst failures:\n{}",
        below.join("\n"),
        failures.join("\n")
    );
    assert!(report.len() >= 40, "{} formats", report.len());
}

#[test]
fn no_near_miss_is_masked_in_any_embedding() {
    let mut rng = Rng(0x0DDB_1A5E_5BAD_5EED);
    let mut masked = Vec::new();
    for _ in 0..5 {
        for miss in near_misses(&mut rng) {
            for how in EMBEDDINGS {
                let text = embed(how, &miss);
                if let Cow::Owned(out) = redact_with(&text, Mode::SecretsOnly) {
                    masked.push(format!("{how}: {text:?}\n  -> {out:?}"));
                }
                // Nor by the personal-data detectors, unless it is personal data.
                let personal = miss.contains('@') || miss.starts_with('+');
                if let (false, Cow::Owned(out)) = (personal, redact_with(&text, Mode::All)) {
                    masked.push(format!("{how}, all kinds: {text:?}\n  -> {out:?}"));
                }
            }
        }
    }
    assert!(masked.is_empty(), "masked:\n{}", masked.join("\n"));
}

#[test]
fn named_values_keep_the_shape_and_schemas_stay() {
    assert_eq!(
        redact_with(
            r#"{"password": "hunter2", "api_key": "abc123", "max_tokens": 4096}"#,
            Mode::SecretsOnly
        ),
        r#"{"password": "[REDACTED]", "api_key": "[REDACTED]", "max_tokens": 4096}"#
    );
    assert_eq!(
        redact_with(
            "login with password: hunter2, then retry",
            Mode::SecretsOnly
        ),
        "login with password: [REDACTED], then retry"
    );
    assert_eq!(
        redact_with(
            "postgres://app:s3cret@db:5432/app and https://admin:pw@host/x",
            Mode::SecretsOnly
        ),
        "postgres://app:[PASSWORD]@db:5432/app and https://admin:[PASSWORD]@host/x"
    );
    assert_eq!(
        redact_with(
            "GET /v1/models?key=abcdef123456&alt=json",
            Mode::SecretsOnly
        ),
        "GET /v1/models?key=[REDACTED]&alt=json"
    );
    // A format the value matches keeps its placeholder.
    let key = format!("sk-proj-{}", "Ab1".repeat(12));
    assert_eq!(
        redact_with(&format!(r#"{{"api_key": "{key}"}}"#), Mode::SecretsOnly),
        r#"{"api_key": "[API_KEY]"}"#
    );
    let schema = r#"{"password": {"type": "string"}, "token": null}"#;
    assert_eq!(redact_with(schema, Mode::SecretsOnly), schema);
}

// ---------------------------------------------------------------------------
// Every output of a real call.

use common::{is_child, json_lines, run_child};
use llm_traced::context::Context;
use llm_traced::llm_traced;
use serde_json::{json, Value};

/// The secrets of one end-to-end run: a sample of every format, from a fixed
/// seed so that the parent and its child agree.
fn run_secrets() -> Vec<Case> {
    let mut rng = Rng(0x5EC2_E75E_C2E7_5EC2);
    formats()
        .into_iter()
        .map(|(_, generate)| generate(&mut rng))
        .collect()
}

fn bound_secrets() -> (String, String, String) {
    let mut rng = Rng(0xB0B0_CAFE_F00D_0001);
    (
        format!("ghp_{}", rng.chars(ALNUM, 36)),
        rng.chars(ALNUM, 24),
        format!(
            "xoxb-{}-{}-{}",
            rng.chars(DIGITS, 12),
            rng.chars(DIGITS, 12),
            rng.chars(ALNUM, 24)
        ),
    )
}

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn leaky_call(
    messages: Vec<Value>,
    answer: String,
    fail: Option<String>,
) -> Result<Value, String> {
    if let Some(message) = fail {
        return Err(message);
    }
    let (tag, metadata_key, _) = bound_secrets();
    let arguments =
        json!({"password": metadata_key, "api_key": tag, "query": "weather"}).to_string();
    Ok(json!({"id": "chatcmpl-1", "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant",
            "content": answer,
            "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "lookup", "arguments": arguments}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}}))
}

#[test]
fn child_leaky_calls() {
    if !is_child() {
        return;
    }
    let secrets = run_secrets();
    let (tag, metadata_key, user) = bound_secrets();
    let prose: String = secrets
        .iter()
        .enumerate()
        .map(|(k, case)| embed(EMBEDDINGS[k % EMBEDDINGS.len()], &case.text) + "\n")
        .chain(["Reach me at jane.doe@example.com.\n".to_owned()])
        .collect();
    let tool_result = json!({"password": secrets[0].secret, "rows": 3}).to_string();
    let messages = vec![
        json!({"role": "system", "content": "You help with builds."}),
        json!({"role": "user", "content": prose}),
        json!({"role": "tool", "tool_call_id": "call_0", "content": tool_result}),
    ];
    futures::executor::block_on(
        Context::current()
            .with_user(user.clone())
            .with_session(format!("chat-{user}"))
            .with_tenant("acme")
            .with_tag(tag.clone())
            .with_metadata("api_key", metadata_key.clone())
            .with_metadata(
                "config",
                json!({"db": {"password": metadata_key}, "replicas": 2}),
            )
            .scope(async {
                leaky_call(messages.clone(), prose.clone(), None)
                    .await
                    .unwrap();
                let error = format!(
                    "request failed: {}",
                    secrets
                        .iter()
                        .map(|c| c.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" | ")
                );
                leaky_call(messages, String::new(), Some(error))
                    .await
                    .unwrap_err();
            }),
    );
    assert!(llm_traced::log::flush());
}

/// Every byte the child wrote: stderr (debug blocks), saved conversations, the log.
fn everything_written(extra: &[(&str, &str)]) -> (String, Vec<Value>) {
    let temp = tempfile::tempdir().unwrap();
    let log = temp.path().join("calls.jsonl");
    let convs = temp.path().join("convs");
    let mut env = vec![
        ("LLM_DEBUG", "1"),
        ("LLM_LOG_PROMPTS", "1"),
        ("LLM_LOG_RESPONSES", "1"),
        ("LLM_SAVE_CONVERSATIONS", "1"),
        ("LLM_LOG_FILE", log.to_str().unwrap()),
        ("LLM_CONVERSATIONS_DIR", convs.to_str().unwrap()),
        ("LLM_MAX_CONTENT_CHARS", "100000"),
    ];
    env.extend_from_slice(extra);
    let out = run_child("child_leaky_calls", &env);
    let mut all = String::from_utf8_lossy(&out.stderr).into_owned();
    all.push_str(&String::from_utf8_lossy(&out.stdout));
    let mut saved = 0;
    for entry in std::fs::read_dir(&convs).unwrap() {
        all.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
        saved += 1;
    }
    assert_eq!(saved, 2, "two conversation files");
    let lines = json_lines(&log);
    assert_eq!(lines.len(), 2, "two log lines");
    all.push_str(&std::fs::read_to_string(&log).unwrap());
    (all, lines)
}

fn assert_no_secret_in(all: &str) {
    let (tag, metadata_key, user) = bound_secrets();
    let mut leaked = Vec::new();
    for (k, case) in run_secrets().iter().enumerate() {
        if leaks(all, &case.secret) {
            leaked.push(format!("{} ({:?})", formats()[k].0, case.secret));
        }
    }
    for secret in [&tag, &metadata_key, &user] {
        if leaks(all, secret) {
            leaked.push(format!("bound value {secret:?}"));
        }
    }
    assert!(leaked.is_empty(), "leaked into an output: {leaked:?}");
}

#[test]
fn no_secret_reaches_any_byte_written_with_every_output_on() {
    let (all, lines) = everything_written(&[]);
    assert_no_secret_in(&all);
    // What the user sees instead: the shape is kept.
    let first = &lines[0];
    assert_eq!(first["metadata"]["api_key"], "[REDACTED]", "{first}");
    assert_eq!(first["metadata"]["config"]["db"]["password"], "[REDACTED]");
    assert_eq!(first["metadata"]["config"]["replicas"], 2);
    assert_eq!(first["tenant_id"], "acme");
    assert_eq!(first["tags"][0], "[GITHUB_TOKEN]");
    let arguments: Value =
        serde_json::from_str(first["tool_calls"][0]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments["password"], "[REDACTED]");
    assert_eq!(arguments["query"], "weather");
    assert!(all.contains("[API_KEY]") && all.contains("[PRIVATE_KEY]"));
    assert!(!all.contains("jane.doe@example.com") && all.contains("[EMAIL]"));
}

#[test]
fn no_secret_reaches_any_byte_written_with_redaction_off() {
    let (all, lines) = everything_written(&[("LLM_REDACT", "0")]);
    assert_no_secret_in(&all);
    // Personal data is kept when asked, and ids are never masked.
    assert!(all.contains("jane.doe@example.com") && !all.contains("[EMAIL]"));
    assert_eq!(lines[0]["tenant_id"], "acme");
}

// ---------------------------------------------------------------------------
// User patterns and key names from the environment.

#[llm_traced(provider = "openai", model = "gpt-4o")]
async fn internal_call(messages: Vec<Value>) -> Value {
    json!({"id": "chatcmpl-2", "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
            "content": "Ticket PRJ-ABC-1234 is assigned to EMP-123456."}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}})
}

#[test]
fn child_user_rules() {
    if !is_child() {
        return;
    }
    futures::executor::block_on(
        Context::current()
            .with_metadata("vault_ref", "vr-8842")
            .scope(async {
                internal_call(vec![json!({"role": "user",
                    "content": "Who has EMP-123456? employee_pin: 4321, project PRJ-ABC-1234"})])
                .await;
            }),
    );
    assert!(llm_traced::log::flush());
}

#[test]
fn user_patterns_and_keys_apply_everywhere_and_a_bad_line_warns_once() {
    let temp = tempfile::tempdir().unwrap();
    let patterns = temp.path().join("patterns.txt");
    std::fs::write(
        &patterns,
        "# our formats\nemployee_id: EMP-[0-9]{6}\nPRJ-(unclosed\nPRJ-[A-Z]{3}-[0-9]{4}\n",
    )
    .unwrap();
    let log = temp.path().join("calls.jsonl");
    let out = run_child(
        "child_user_rules",
        &[
            ("LLM_LOG_FILE", log.to_str().unwrap()),
            ("LLM_LOG_PROMPTS", "1"),
            ("LLM_LOG_RESPONSES", "1"),
            ("LLM_DEBUG", "1"),
            ("LLM_REDACT", "0"),
            ("LLM_REDACT_PATTERNS", patterns.to_str().unwrap()),
            ("LLM_REDACT_KEYS", "employee_pin, vault_ref"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("redaction pattern"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("line 3 of") && warnings[0].contains("patterns.txt"),
        "{}",
        warnings[0]
    );
    let written = format!("{stderr}{}", std::fs::read_to_string(&log).unwrap());
    for secret in ["EMP-123456", "PRJ-ABC-1234", "4321", "vr-8842"] {
        assert!(!written.contains(secret), "{secret} reached an output");
    }
    let line = &json_lines(&log)[0];
    assert_eq!(
        line["messages"][0]["content"],
        "Who has [EMPLOYEE_ID]? employee_pin: [REDACTED], project [REDACTED]"
    );
    assert_eq!(line["metadata"]["vault_ref"], "[REDACTED]");
    assert_eq!(
        line["response"]["text"],
        "Ticket [REDACTED] is assigned to [EMPLOYEE_ID]."
    );
}
