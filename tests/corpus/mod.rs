//! The labelled secrets corpus, generated at run time: every secret format
//! the scanner knows, the embeddings a user's text gives a secret, and the
//! near-misses that must survive. Shared by the tests that check an output
//! (`#[path = "corpus/mod.rs"] mod corpus;`).

#![allow(dead_code)]

/// xorshift64*: deterministic test data without dependencies.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    pub fn chars(&mut self, alphabet: &str, len: usize) -> String {
        let alphabet = alphabet.as_bytes();
        (0..len)
            .map(|_| char::from(alphabet[self.below(alphabet.len())]))
            .collect()
    }

    pub fn chars_in(&mut self, alphabet: &str, lo: usize, hi: usize) -> String {
        let len = self.between(lo, hi);
        self.chars(alphabet, len)
    }

    pub fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
}

pub const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub const HEX: &str = "0123456789abcdef";
pub const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const UPPER32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
pub const DIGITS: &str = "0123456789";
/// Password characters: what survives in a URL or after `password:`
/// unquoted (no blank, quote, `,`, `;`, `&`, `\`, `@`, `/`, `:`).
pub const PASSWORD: &str = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!$*-_~+";

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

/// A format: its name and a generator of fresh samples.
pub type Format = (&'static str, fn(&mut Rng) -> Case);

/// Every format.
pub fn formats() -> Vec<Format> {
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
        ("hashicorp vault", |r| {
            same(format!("hvs.{}", r.chars_in(B64URL, 90, 120)))
        }),
        ("digitalocean", |r| {
            let prefix = r.pick(&["dop_v1_", "doo_v1_", "dor_v1_"]);
            same(format!("{prefix}{}", r.chars(HEX, 64)))
        }),
        ("doppler", |r| same(format!("dp.pt.{}", r.chars(ALNUM, 43)))),
        ("sentry", |r| same(format!("sntryu_{}", r.chars(HEX, 64)))),
        ("notion", |r| {
            same(format!("ntn_{}{}", r.chars(DIGITS, 11), r.chars(ALNUM, 35)))
        }),
        ("linear", |r| {
            same(format!("lin_api_{}", r.chars(ALNUM, 40)))
        }),
        ("postman", |r| {
            same(format!("PMAK-{}-{}", r.chars(HEX, 24), r.chars(HEX, 34)))
        }),
        ("grafana", |r| {
            same(format!("glsa_{}_{}", r.chars(ALNUM, 32), r.chars(HEX, 8)))
        }),
        ("age secret key", |r| {
            same(format!(
                "AGE-SECRET-KEY-1{}",
                r.chars("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)
            ))
        }),
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
        "xoxo-see-you-in-2025",
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
pub fn escape(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap();
    quoted[1..quoted.len() - 1].to_owned()
}

/// Whether `output` still holds `secret`, raw or JSON-escaped once or twice.
pub fn leaks(output: &str, secret: &str) -> bool {
    let once = escape(secret);
    output.contains(secret) || output.contains(&once) || output.contains(&escape(&once))
}

/// The secrets of one end-to-end run: a sample of every format, from a fixed
/// seed so that the parent and its child agree.
pub fn run_secrets() -> Vec<Case> {
    let mut rng = Rng(0x5EC2_E75E_C2E7_5EC2);
    formats()
        .into_iter()
        .map(|(_, generate)| generate(&mut rng))
        .collect()
}

/// The bound values of one end-to-end run: a GitHub token (a tag), a
/// plain-looking value (metadata `api_key`), a Slack token (the user id).
pub fn bound_secrets() -> (String, String, String) {
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
