//! The scanner's tests: every kind, its near-misses, random and
//! pathological input.

use super::personal::luhn;
use super::scanner::{is_word, word_end};
use super::*;

fn r(text: &str) -> String {
    redact(text).into_owned()
}

/// Each `|`-separated case, put in `context` at `{}`, redacts to
/// `expected` (where `{}` is the case again).
fn each(cases: &str, context: &str, expected: &str) {
    for case in cases.split('|') {
        let expected = expected.replace("{}", case);
        assert_eq!(r(&context.replace("{}", case)), expected, "{case:?}");
    }
}

/// No `|`-separated case is matched, alone or all together.
fn untouched(cases: &str) {
    for text in cases.split('|').chain([cases]) {
        assert_eq!(find(text, Mode::All), [], "{text:?} was matched");
        assert!(matches!(redact(text), Cow::Borrowed(_)));
    }
}

/// xorshift64*: deterministic test data without dependencies.
struct Rng(u64);

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
}

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const KEY: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

#[test]
fn placeholders_and_secrecy() {
    assert_eq!(Kind::Email.placeholder(), "[EMAIL]");
    assert_eq!(Kind::CardNumber.placeholder(), "[CARD]");
    assert_eq!(Kind::AwsAccessKey.placeholder(), "[AWS_KEY]");
    assert_eq!(Kind::PrivateKey.placeholder(), "[PRIVATE_KEY]");
    assert!(Kind::Jwt.is_secret() && Kind::BearerToken.is_secret());
    assert!(!Kind::Email.is_secret() && !Kind::IpAddress.is_secret());
    assert_eq!(Mode::default(), Mode::All);
}

#[test]
fn word_end_agrees_with_is_word() {
    for c in 0..=255u8 {
        for pos in 0..12 {
            let mut bytes = [b'x'; 12];
            bytes[pos] = c;
            let expected = if is_word(c) { 12 } else { pos };
            assert_eq!(word_end(&bytes, 0), expected, "byte {c} at {pos}");
        }
    }
}

#[test]
fn emails() {
    each(
        "john.doe+tag@example.co.uk|a@b.co|first_last%x@sub-d.example.org|X.Y@Z.IO",
        "mail: <{}>.",
        "mail: <[EMAIL]>.",
    );
    assert_eq!(r(".lead@dots.com a@b.co.123"), ".[EMAIL] [EMAIL].123");
    untouched("ping @alice|user@localhost|a@b|a@b.c|@@ x@|a@b.co_x|a@-.com");
}

#[test]
fn phones() {
    each(
        "(555) 123-4567|(555)123-4567|555-123-4567|555.123.4567|555 123 4567|\
         1-800-555-1234|+1 555 123 4567|+1 (555) 123-4567|+14155552671|\
         +44 20 7946 0958|+49 (0)30 1234567|+33.1.23.45.67.89|+1-555-123-4567",
        "call {}.",
        "call [PHONE].",
    );
    let tails = "2024|3.14|10:30|2,500|1.2.3|000-12-3456";
    each(tails, "+44 20 7946 0958 {}", "[PHONE] {}");
    untouched(
        "on 2024-01-15 at 10:30:00|15.01.2024|v2.10.4 and 1.2.3|order 1234567890|\
         $1,234.56|+12345|1+5551234567|555-123-45678|1-2-3|(555) 12-34|12:30 pm|100 200 3000",
    );
}

#[test]
fn ssns() {
    each("123-45-6789|078-05-1120", "SSN {}.", "SSN [SSN].");
    untouched(
        "000-12-3456|666-12-3456|900-12-3456|123-00-4567|123-45-0000|1123-45-6789|123-45-6789-1",
    );
}

#[test]
fn cards() {
    each(
        "4111 1111 1111 1111|4111-1111-1111-1111|4111111111111111|378282246310005|\
         3782 822463 10005|5555555555554444|6011 0009 9013 9424",
        "card: {}!",
        "card: [CARD]!",
    );
    assert!(!luhn(b"1234 5678 9012 3456") && luhn(b"4111-1111-1111-1111"));
    each(
        "2024|1234567890|2222 3333",
        "4111 1111 1111 1111 {}",
        "[CARD] {}",
    );
    untouched(
        "1234 5678 9012 3456|4111111111111112|abc4111111111111111xyz|4111-1111-1111-1111-2222|\
         4111 1111-1111 1111|1Z999AA10123456784|order 2024000000000",
    );
    // A millisecond timestamp that happens to pass Luhn still survives.
    let stamp = (0..10)
        .map(|d| format!("170000000000{d}"))
        .find(|s| luhn(s.as_bytes()));
    untouched(&stamp.unwrap());
}

#[test]
fn ip_addresses() {
    each(
        "192.168.1.20|0.0.0.0|2001:db8::8a2e:370:7334|2001:0db8:85a3:0000:0000:8a2e:0370:7334|\
         ::1|fe80::1|FE80::|::ffff:192.0.2.1",
        "host {}, up",
        "host [IP], up",
    );
    assert_eq!(r("10.0.0.1:8080 [2001:db8::1]:443"), "[IP]:8080 [[IP]]:443");
    assert_eq!(
        r("at 2001:db8::8a2e:370:7334. Or fe80::1."),
        "at [IP]. Or [IP]."
    );
    untouched(
        "256.1.1.1|1.2.3|1.2.3.4.5|10:30:00|std::io::Error|a::b|Vec::new()|dead::beef| :: |\
         1:2:3:4:5:6:7:8:9|12345::1|Note: add::1x|mac 00-1A-2B-3C-4D-5E",
    );
}

#[test]
fn api_and_cloud_keys() {
    for (keys, placeholder) in [
        (
            "sk-proj-Ab3dEf6hIj9lMn0pQr_sTu-vWx|sk-ant-api03-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2|\
             sk-svcacct-abcdefghijklmnopqrstuv",
            "[API_KEY]",
        ),
        ("AKIAIOSFODNN7EXAMPLE|ASIA1234567890ABCDEF", "[AWS_KEY]"),
        (
            "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789|gho_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789|\
             github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
            "[GITHUB_TOKEN]",
        ),
    ] {
        for key in keys.split('|') {
            for mode in [Mode::All, Mode::SecretsOnly] {
                let text = format!("key={key}; done");
                assert_eq!(redact_with(&text, mode), format!("key={placeholder}; done"));
            }
        }
    }
    untouched(
        "xsk-proj-Ab3dEf6hIj9lMn0pQrsTuvWx|sk-learn and sk-short-key|AKIAIOSFODNN7EXAMPL|\
         AKIAIOSFODNN7EXAMPLE2|xAKIAIOSFODNN7EXAMPLE|akiaiosfodnn7example|ghp_tooShort123|\
         ghx_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789|github_pat_short",
    );
}

#[test]
fn jwts_and_bearer_tokens() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9";
    assert_eq!(r(&format!("token: {jwt}.")), "token: [JWT].");
    assert_eq!(
        r("Authorization: Bearer abc123.DEF-456_ghi~jk/l+m=="),
        "Authorization: Bearer [BEARER_TOKEN]"
    );
    assert_eq!(r("bearer\tAbCdEfGh12."), "bearer\t[BEARER_TOKEN].");
    assert_eq!(
        r("Bearer -----BEGIN PRIVATE KEY-----\nMII"),
        "Bearer [PRIVATE_KEY]"
    );
    let twice = "bearer 1234567890=Bearer abcdefgh123";
    assert_eq!(r(twice), "bearer [BEARER_TOKEN]Bearer [BEARER_TOKEN]");
    assert_eq!(r(&format!("BEARER {jwt}")), "BEARER [BEARER_TOKEN]");
    untouched(
        "eyJhbGciOiJIUzI1NiJ9.notajwt.sig|eyJhbGci only|the bearer of bad news|\
         the bearer instrument|Bearer short|Bearer: abcdefgh1234|xBearer abcdefgh1234|\
         Bearer ---------",
    );
}

#[test]
fn private_keys() {
    let rsa = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAA==\n-----END RSA PRIVATE KEY-----";
    assert_eq!(r(&format!("key:\n{rsa}\nbye")), "key:\n[PRIVATE_KEY]\nbye");
    let ssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----";
    assert_eq!(
        redact_with(&format!("{ssh}{ssh}"), Mode::SecretsOnly),
        "[PRIVATE_KEY][PRIVATE_KEY]"
    );
    let mixed = "-----BEGIN EC PRIVATE KEY-----\nAAA\n-----END RSA PRIVATE KEY----- tail";
    assert_eq!(r(&format!("x {mixed}")), "x [PRIVATE_KEY]");
    let json = r#"{"key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"}"#;
    assert_eq!(r(json), r#"{"key": "[PRIVATE_KEY]\n"}"#);
    assert_eq!(
        r("a -----BEGIN PRIVATE KEY-----\nMIIE a@b.co"),
        "a [PRIVATE_KEY]"
    );
    untouched("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----|-----BEGIN PUBLIC KEY-----|---- a -----");
}

#[test]
fn mixed_adjacent_and_quoted() {
    let text = "Hi, I'm jane@corp.io (+1 415 555 2671), card 4111 1111 1111 1111, \
                server 10.0.0.7, key AKIAIOSFODNN7EXAMPLE. Bye!";
    let expected = "Hi, I'm [EMAIL] ([PHONE]), card [CARD], server [IP], key [AWS_KEY]. Bye!";
    assert_eq!(r(text), expected);
    assert_eq!(
        r("email:a@b.co,phone:555-123-4567"),
        "email:[EMAIL],phone:[PHONE]"
    );
    assert_eq!(r("ip:10.0.0.1;ssn:123-45-6789/x"), "ip:[IP];ssn:[SSN]/x");
    assert_eq!(r("555-123-4567@example.com"), "[EMAIL]");
    assert_eq!(
        r(r#"{"api_key": "sk-proj-abcDEF123456ghiJKL789mno", "n": 1}"#),
        r#"{"api_key": "[API_KEY]", "n": 1}"#
    );
    // JSON-escaped text: `\n` does not glue the key to the previous word.
    assert_eq!(
        r(r"line\nsk-proj-abcDEF123456ghiJKL789mno\tAKIAIOSFODNN7EXAMPLE\n+14155552671"),
        r"line\n[API_KEY]\t[AWS_KEY]\n[PHONE]"
    );
}

#[test]
fn secrets_only_keeps_personal_data() {
    let pii = "bob@example.com 555-123-4567 192.168.0.1 ::1 123-45-6789 4111111111111111";
    let text = format!("{pii} sk-ant-api03-abcdefghijklmnopqrstu");
    assert_eq!(
        redact_with(&text, Mode::SecretsOnly),
        format!("{pii} [API_KEY]")
    );
    assert!(find(&text, Mode::SecretsOnly)
        .iter()
        .all(|(_, k)| k.is_secret()));
    let kinds: Vec<Kind> = find(&text, Mode::All).into_iter().map(|(_, k)| k).collect();
    use Kind::*;
    assert_eq!(
        kinds,
        [Email, Phone, IpAddress, IpAddress, Ssn, CardNumber, ApiKey]
    );
}

#[test]
fn clean_text_is_borrowed_and_utf8_is_safe() {
    let clean = "Nothing to see: v1.2.3, 2024-01-15, std::io::Error, $1,234.56 🦀";
    assert!(matches!(redact(clean), Cow::Borrowed(_)));
    assert!(matches!(redact(""), Cow::Borrowed(_)));
    assert!(matches!(redact("a@b.co"), Cow::Owned(_)));
    assert_eq!(r("café a@b.co naïve"), "café [EMAIL] naïve");
    assert_eq!(r("電話555-123-4567です"), "電話[PHONE]です");
    assert_eq!(r("€sk-proj-abcdefghijklmnopqrstuvwx€"), "€[API_KEY]€");
}

/// Spans are on char boundaries, in order and disjoint; `redact_with`
/// borrows exactly when nothing matched.
fn check_invariants(text: &str) {
    for mode in [Mode::All, Mode::SecretsOnly] {
        let spans = find(text, mode);
        let mut last = 0;
        for (range, _) in &spans {
            assert!(last <= range.start && range.start < range.end, "{text:?}");
            assert!(text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
            last = range.end;
        }
        let out = redact_with(text, mode);
        assert_eq!(spans.is_empty(), matches!(out, Cow::Borrowed(_)));
    }
}

#[test]
fn random_input_never_panics() {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let pieces: Vec<&str> = "0 1 4 5 9 - . : :: @ + ( ) e eyJ sk- AKIA ghp_ github_pat_ Bearer a f _ \
                             é € 🦀 \\ n / = % -----BEGIN PRIVATE KEY----- -----END x .co A Z 1234 555 \
                             password api_key ?key= &sig= \" ' \\\" :// https://u: Basic dXNlcjpwdw== \
                             xoxb- hooks.slack.com/services/ 123456: AA M . sk_live_ SG. , ; { } [ ]"
        .split(' ')
        .chain([" ", "\n", "\t"])
        .collect();
    for _ in 0..5000 {
        let text: String = (0..rng.below(60)).map(|_| rng.pick(&pieces)).collect();
        check_invariants(&text);
        let bytes: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
        check_invariants(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn pathological_input_is_linear() {
    let started = std::time::Instant::now();
    for unit in [
        "eyJ-",
        "1-",
        "a@",
        "a.",
        "::1:",
        "+1 ",
        "sk-a",
        "1.",
        "(5",
        "Bearer ",
        "a:",
        "password: \"",
        "a=",
        "://a:",
        "xoxb-1",
        "123456:",
        "Basic ",
        "?key=",
        "M-",
        "token: {",
        "\\\"pwd\\\":",
        "https://",
        "hooks.slack.com/services/a",
    ] {
        check_invariants(&unit.repeat(100_000));
    }
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

/// A fresh, real-looking secret: (text to insert, part that must not survive).
fn random_secret(rng: &mut Rng) -> (String, String) {
    let secret = match rng.below(8) {
        0 => {
            let len = 20 + rng.below(120);
            format!(
                "sk-{}{}",
                rng.pick(&["", "proj-", "svcacct-"]),
                rng.chars(KEY, len)
            )
        }
        1 => format!("sk-ant-api03-{}", rng.chars(KEY, 80)),
        2 => format!(
            "{}{}",
            rng.pick(&["AKIA", "ASIA"]),
            rng.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
        ),
        3 => format!(
            "{}_{}",
            rng.pick(&["ghp", "gho", "ghs", "ghu", "ghr"]),
            rng.chars(ALNUM, 36)
        ),
        4 => format!(
            "github_pat_{}_{}",
            rng.chars(ALNUM, 22),
            rng.chars(ALNUM, 59)
        ),
        5 => {
            let (a, b) = (10 + rng.below(40), 10 + rng.below(80));
            format!(
                "eyJ{}.eyJ{}.{}",
                rng.chars(KEY, a),
                rng.chars(KEY, b),
                rng.chars(KEY, 43)
            )
        }
        6 => {
            let token = rng.chars("abcdefghijklmnopqrstuvwxyz0123456789._~+/-", 20);
            return (format!("Bearer {token}="), token);
        }
        _ => {
            let body = rng.chars(ALNUM, 64);
            let block = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----");
            return (block, body);
        }
    };
    (secret.clone(), secret)
}

/// `inserted` among up to 40 random `words`, joined by random `separators`.
fn embed(rng: &mut Rng, inserted: &str, words: &str, separators: &[&str]) -> String {
    let words: Vec<&str> = words.split(' ').collect();
    let mut parts: Vec<&str> = (0..rng.below(40)).map(|_| rng.pick(&words)).collect();
    parts.insert(rng.below(parts.len() + 1), inserted);
    let mut text = String::new();
    for (k, part) in parts.iter().enumerate() {
        if k > 0 {
            text.push_str(rng.pick(separators));
        }
        text.push_str(part);
    }
    text
}

const WORDS: &str = "the model said café naïve 2024-01-15 v1.2.3 $1,234.56 std::io::Error @bob \
                     order 1234567890 → e s g A bearer a@b.co 555-123-4567 key 42 2024 3.14 \
                     10:30 2,500 1.2.3 000-12-3456";

#[test]
fn inserted_keys_never_survive() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let words = format!("{WORDS} - \\ -----");
    let separators = [
        " ", "\n", ", ", "\t", " \"", "\" ", "=", ": ", "(", ")", "'", r"\n", ". ",
    ];
    for round in 0..1000 {
        let (inserted, secret) = random_secret(&mut rng);
        let text = embed(&mut rng, &inserted, &words, &separators);
        for mode in [Mode::All, Mode::SecretsOnly] {
            let out = redact_with(&text, mode);
            assert!(
                !out.contains(&secret),
                "round {round}, {mode:?}: {text:?} -> {out:?}"
            );
        }
    }
}

#[test]
fn inserted_personal_data_never_survives() {
    let mut rng = Rng(0x0DDB_1A5E_5BAD_5EED);
    let samples: Vec<&str> = "jane.doe@example.com|x@mail.co.uk|555-123-4567|(555) 123-4567|\
                              +1 415 555 2671|+44 20 7946 0958|+33 6 12 34 56 78|123-45-6789|\
                              4111 1111 1111 1111|378282246310005|192.168.1.20|2001:db8::1|fe80::1|\
                              ::ffff:10.0.0.1|1-800-555-1234|+14155552671|6011-0009-9013-9424"
        .split('|')
        .collect();
    let separators = [
        " ", "\n", ", ", "\t", " \"", "\" ", ": ", " (", ") ", "; ", "=", "<", ">", ". ", "! ",
        ",", "/",
    ];
    for round in 0..1000 {
        let sample = rng.pick(&samples);
        let text = embed(&mut rng, sample, WORDS, &separators);
        let out = redact(&text);
        assert!(!out.contains(sample), "round {round}: {text:?} -> {out:?}");
    }
}

/// Found by the corpus's random embeddings: a named value never swallows the
/// start of another secret.
#[test]
fn named_values_leave_the_next_secret_whole() {
    let s = |text: &str| redact_with(text, Mode::SecretsOnly).into_owned();
    let token = "AbCdEfGh1234567890.xyz";
    assert_eq!(
        s(&format!("token: @bob(Authorization: Digest {token}")),
        "token: [REDACTED]: Digest [REDACTED]"
    );
    assert_eq!(
        s("password: -----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY----- ok"),
        "password: [PRIVATE_KEY] ok"
    );
    assert_eq!(
        s("password=g?-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----"),
        "password=[REDACTED][PRIVATE_KEY]"
    );
    assert_eq!(
        s(&format!("password=x(bearer {token}")),
        "password=[REDACTED]bearer [BEARER_TOKEN]"
    );
    assert_eq!(
        s(&format!("token: Bearer bearer {token}")),
        "token: Bearer bearer [BEARER_TOKEN]"
    );
    assert_eq!(
        s("Bearer db_password=$ecret!"),
        "Bearer db_password=[REDACTED]"
    );
    let key = format!("sk-proj-{}", "Ab1".repeat(10));
    assert_eq!(
        s(&format!("https://({key}:pw@host/")),
        "https://([API_KEY]:[PASSWORD]@host/"
    );
}
