//! Token formats recognised by their prefix: the scanner calls
//! [`prefixed`] at the start of a word whose first two bytes could begin one,
//! so the prefix itself is the keyword pre-filter and most words cost one
//! `match` on two bytes.
//!
//! The facts of each format (prefix, alphabet, length) are those published by
//! the providers and collected in gitleaks' default rules and trufflehog's
//! detectors. Lengths are minimums where a provider has changed them over
//! time, exact where a fixed length is what tells a token from a word.

use std::ops::Range;

use super::scanner::{at, boundary_before, is_key, is_token, is_word, run, starts};
use super::Kind;

fn alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

fn hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

/// `prefix` at `i`, then a run of `body` bytes of at least `min`: the range
/// up to the run's end.
fn body(b: &[u8], i: usize, prefix: &[u8], min: usize, f: fn(u8) -> bool) -> Option<usize> {
    if !starts(b, i, prefix) {
        return None;
    }
    let n = run(b, i + prefix.len(), f);
    (n >= min).then_some(i + prefix.len() + n)
}

/// Like [`body`] with exactly `len` bytes, not followed by a word byte.
fn exact(b: &[u8], i: usize, prefix: &[u8], len: usize, f: fn(u8) -> bool) -> Option<usize> {
    let end = body(b, i, prefix, len, f)?;
    (end == i + prefix.len() + len && !is_word(at(b, end))).then_some(end)
}

/// A token that starts at `i` (a word start) with a known prefix.
pub(super) fn prefixed(b: &[u8], i: usize) -> Option<(Range<usize>, Kind)> {
    let api = |end: Option<usize>| end.map(|e| (i..e, Kind::ApiKey));
    let token = |end: Option<usize>| end.map(|e| (i..e, Kind::AccessToken));
    match (at(b, i), at(b, i + 1)) {
        // OpenAI (`sk-`, `sk-proj-`, `sk-svcacct-`, `sk-admin-`), Anthropic
        // (`sk-ant-`), OpenRouter (`sk-or-v1-`); Stripe `sk_live_`/`sk_test_`.
        (b's', b'k') => api(body(b, i, b"sk-", 20, is_key).or_else(|| stripe(b, i))),
        (b'r', b'k') => api(stripe(b, i)),
        // Shopify access tokens and shared secrets.
        (b's', b'h') => api([&b"shpat_"[..], b"shpca_", b"shppa_", b"shpss_"]
            .iter()
            .find_map(|p| exact(b, i, p, 32, hex))),
        // Replicate.
        (b'r', b'8') => api(body(b, i, b"r8_", 30, is_key)),
        // Groq.
        (b'g', b's') => api(body(b, i, b"gsk_", 40, alnum)),
        // GitLab: personal, deploy, runner, feed, … tokens (`glpat-` and
        // kin); Grafana service accounts (`glsa_` 32 `_` 8 hex).
        (b'g', b'l') => token(gitlab(b, i).or_else(|| {
            let end = body(b, i, b"glsa_", 32, alnum)?;
            (at(b, end) == b'_').then_some(end + 1 + run(b, end + 1, hex))
        })),
        (b'A', b'I') => api(body(b, i, b"AIza", 30, is_key)),
        // age encryption keys (Bech32).
        (b'A', b'G') => {
            body(b, i, b"AGE-SECRET-KEY-1", 50, alnum).map(|e| (i..e, Kind::PrivateKey))
        }
        (b'x', b'a') => {
            api(body(b, i, b"xai-", 40, is_key)).or_else(|| token(body(b, i, b"xapp-", 20, is_key)))
        }
        (b'x', b'o') => token(slack(b, i)),
        // Hugging Face.
        (b'h', b'f') => api(body(b, i, b"hf_", 30, alnum)),
        (b'h', b'o') => slack_webhook(b, i),
        // HashiCorp Vault service and batch tokens.
        (b'h', b'v') => {
            token(body(b, i, b"hvs.", 80, is_key).or_else(|| body(b, i, b"hvb.", 80, is_key)))
        }
        // Perplexity.
        (b'p', b'p') => api(body(b, i, b"pplx-", 40, alnum)),
        // PyPI upload tokens (a macaroon: `pypi-AgEIcHlwaS5vcmc…`).
        (b'p', b'y') => token(body(b, i, b"pypi-Ag", 50, is_key)),
        // Fireworks.
        (b'f', b'w') => api(body(b, i, b"fw_", 20, alnum)),
        // npm.
        (b'n', b'p') => token(body(b, i, b"npm_", 30, alnum)),
        // crates.io.
        (b'c', b'i') => token(exact(b, i, b"cio", 32, alnum)),
        // Databricks.
        (b'd', b'a') => api(exact(b, i, b"dapi", 32, hex).map(|e| {
            let suffix = at(b, e) == b'-' && at(b, e + 1).is_ascii_digit();
            if suffix {
                e + 2
            } else {
                e
            }
        })),
        (b'd', b'i') => discord_webhook(b, i),
        // DigitalOcean personal, OAuth and refresh tokens.
        (b'd', b'o') => api([&b"dop_v1_"[..], b"doo_v1_", b"dor_v1_"]
            .iter()
            .find_map(|p| exact(b, i, p, 64, hex))),
        // Doppler.
        (b'd', b'p') => api(body(b, i, b"dp.pt.", 40, alnum)),
        // Sentry user and organisation tokens.
        (b's', b'n') => token(exact(b, i, b"sntryu_", 64, hex).or_else(|| {
            body(b, i, b"sntrys_", 60, |c| {
                is_key(c) || matches!(c, b'+' | b'/' | b'=')
            })
        })),
        // Notion.
        (b'n', b't') => api(body(b, i, b"ntn_", 40, alnum)),
        // Linear.
        (b'l', b'i') => api(body(b, i, b"lin_api_", 40, alnum)),
        // Postman: `PMAK-` 24 hex `-` 34 hex.
        (b'P', b'M') => {
            api(body(b, i, b"PMAK-", 24, |c| hex(c) || c == b'-').filter(|&e| e >= i + 5 + 59))
        }
        // SendGrid: `SG.` 22 `.` 43.
        (b'S', b'G') => {
            let end = body(b, i, b"SG.", 60, |c| is_key(c) || c == b'.')?;
            let dotted = b[i + 3..end].contains(&b'.');
            api(dotted.then_some(end))
        }
        // Twilio API key sid: `SK` and 32 hex digits.
        (b'S', b'K') => api(exact(b, i, b"SK", 32, hex)),
        (b'M' | b'N' | b'O', _) => token(discord_bot(b, i)),
        _ => None,
    }
}

/// Stripe secret and restricted keys, live, test or prod: `sk_live_…`, `rk_test_…`.
fn stripe(b: &[u8], i: usize) -> Option<usize> {
    if !matches!(at(b, i), b's' | b'r') || at(b, i + 1) != b'k' || at(b, i + 2) != b'_' {
        return None;
    }
    [&b"live_"[..], b"test_", b"prod_"]
        .iter()
        .find_map(|mode| body(b, i + 3, mode, 10, alnum))
}

/// GitLab tokens: `glpat-`, `gldt-`, `glrt-`, `glptt-`, `glft-`, `glimt-`,
/// `glsoat-`, `glcbt-`, `gloas-`, `glagent-`, `glffct-` and 20+ characters
/// (a routable token ends in `.` and a short suffix).
fn gitlab(b: &[u8], i: usize) -> Option<usize> {
    let name = run(b, i + 2, |c| c.is_ascii_lowercase());
    let known = [
        &b"pat"[..],
        b"dt",
        b"rt",
        b"ptt",
        b"ft",
        b"imt",
        b"soat",
        b"cbt",
        b"oas",
        b"agent",
        b"ffct",
    ];
    let kind = b.get(i + 2..i + 2 + name)?;
    if !known.contains(&kind) || at(b, i + 2 + name) != b'-' {
        return None;
    }
    let start = i + 3 + name;
    let mut end = start + run(b, start, |c| is_key(c) || c == b'.');
    while end > start && b[end - 1] == b'.' {
        end -= 1;
    }
    (end - start >= 20).then_some(end)
}

/// Slack tokens: `xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`, `xoxo-`,
/// `xoxe-`, `xoxe.xoxp-`: digits and letters in dash-separated groups.
fn slack(b: &[u8], i: usize) -> Option<usize> {
    if !starts(b, i, b"xox") {
        return None;
    }
    let mut p = i + 3;
    if starts(b, p, b"e.xox") {
        p += 5;
    }
    let kind = at(b, p);
    if !matches!(kind, b'a' | b'b' | b'e' | b'o' | b'p' | b'r' | b's') || at(b, p + 1) != b'-' {
        return None;
    }
    // Legacy `xoxo-`/`xoxs-` tokens are digit groups: `xoxo-see-you-in-2025` is a word.
    if matches!(kind, b'o' | b's') && !at(b, p + 2).is_ascii_digit() {
        return None;
    }
    let n = run(b, p + 2, is_key);
    let digits = b[p + 2..p + 2 + n].iter().any(u8::is_ascii_digit);
    (n >= 10 && digits).then_some(p + 2 + n)
}

/// Where a webhook's secret path starts after `host` and `path` at `i`, and
/// how far its characters go.
fn webhook_path(b: &[u8], i: usize, host: &[u8], paths: &[&[u8]]) -> Option<(usize, usize)> {
    if !starts(b, i, host) {
        return None;
    }
    let p = i + host.len();
    let path = paths.iter().find(|path| starts(b, p, path))?;
    let start = p + path.len();
    let n = run(b, start, |c| is_key(c) || c == b'/' || c == b'+');
    (n >= 20).then_some((start, start + n))
}

/// `hooks.slack.com/services/…` (and `/workflows/`, `/triggers/`): the path
/// after the segment is masked.
fn slack_webhook(b: &[u8], i: usize) -> Option<(Range<usize>, Kind)> {
    let paths: [&[u8]; 3] = [b"services/", b"workflows/", b"triggers/"];
    let (start, end) = webhook_path(b, i, b"hooks.slack.com/", &paths)?;
    Some((start..end, Kind::WebhookUrl))
}

/// `discord.com/api/webhooks/<id>/<token>` (or `discordapp.com`).
fn discord_webhook(b: &[u8], i: usize) -> Option<(Range<usize>, Kind)> {
    let paths: [&[u8]; 2] = [b"api/webhooks/", b"api/v10/webhooks/"];
    let (start, end) = webhook_path(b, i, b"discord.com/", &paths)
        .or_else(|| webhook_path(b, i, b"discordapp.com/", &paths))?;
    Some((start..end, Kind::WebhookUrl))
}

/// A Discord bot token: the bot's id in base64 (`M`, `N` or `O` and 23–27
/// more), `.`, 6–7 characters, `.`, 27–40 characters.
fn discord_bot(b: &[u8], i: usize) -> Option<usize> {
    let first = run(b, i, alnum);
    if !(24..=28).contains(&first) || at(b, i + first) != b'.' {
        return None;
    }
    let p = i + first + 1;
    let second = run(b, p, is_key);
    if !(6..=7).contains(&second) || at(b, p + second) != b'.' {
        return None;
    }
    let q = p + second + 1;
    let third = run(b, q, is_key);
    (27..=40).contains(&third).then_some(q + third)
}

/// A Telegram bot token around the `:` at `colon`: 5–16 digits (the bot's
/// id), `:`, `A` and 34 more characters. Returns where it starts and ends.
pub(super) fn telegram(b: &[u8], colon: usize) -> Option<Range<usize>> {
    let digits = b[..colon]
        .iter()
        .rev()
        .take(17)
        .take_while(|c| c.is_ascii_digit())
        .count();
    let start = colon - digits;
    // In the Bot API's URLs the token follows `/bot`: `…/bot123456:AA…/getMe`.
    let after_bot = b[..start].ends_with(b"/bot");
    let bounded = boundary_before(b, start) || after_bot;
    if !(5..=16).contains(&digits) || !bounded || at(b, colon + 1) != b'A' {
        return None;
    }
    let n = run(b, colon + 1, is_key);
    (n == 35).then_some(start..colon + 1 + n)
}

/// `Basic ` and base64 credentials that decode to `user:password`: only the
/// credentials are masked. Called at a word starting with `b`/`B`.
pub(super) fn basic(b: &[u8], i: usize) -> Option<(Range<usize>, Kind)> {
    let word = b.get(i..i + 5)?;
    if !word.eq_ignore_ascii_case(b"basic") || at(b, i + 5) != b' ' {
        return None;
    }
    let start = i + 6 + run(b, i + 6, |c| c == b' ');
    let n = run(b, start, |c| alnum(c) || matches!(c, b'+' | b'/'));
    let pad = run(b, start + n, |c| c == b'=').min(2);
    let end = start + n + pad;
    // Padding ends the credentials whatever follows (`…==Bearer`).
    let bounded = pad > 0 || !is_word(at(b, end));
    let valid = n >= 4 && bounded && decodes_to_credentials(&b[start..end]);
    valid.then_some((start..end, Kind::BasicCredentials))
}

/// Whether standard base64 `text` decodes to bytes with a `:` in them (and no
/// control bytes): `user:password`. Written out here because it runs inside
/// the scan (at every `Basic ` followed by base64) and std has no base64: a
/// dependency for these few lines would cost every build.
fn decodes_to_credentials(text: &[u8]) -> bool {
    let sextet = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut acc, mut bits, mut colon) = (0u32, 0, false);
    for &c in text.iter().take_while(|&&c| c != b'=') {
        let Some(v) = sextet(c) else { return false };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            let byte = (acc >> bits) as u8;
            acc &= (1 << bits) - 1;
            if byte < 0x20 || byte == 0x7f {
                return false;
            }
            colon |= byte == b':';
        }
    }
    colon
}

/// The password in a URL's userinfo, for the `:` at `i` that follows the
/// scheme (`https://user:password@host`, also JSON-escaped `https:\/\/…`).
/// Returns where the userinfo starts, the password's range and the `@`
/// after it.
pub(super) fn url_password(b: &[u8], i: usize) -> Option<(usize, Range<usize>, usize)> {
    let start = if starts(b, i, b"://") {
        i + 3
    } else if starts(b, i, br":\/\/") {
        i + 5
    } else {
        return None;
    };
    let userinfo = b
        .get(start..)?
        .iter()
        .take(512)
        .take_while(|&&c| {
            !c.is_ascii_whitespace()
                && !matches!(
                    c,
                    b'/' | b'?' | b'#' | b'@' | b'"' | b'\'' | b'<' | b'>' | b'\\'
                )
        })
        .count();
    let at_sign = start + userinfo;
    if at(b, at_sign) != b'@' {
        return None;
    }
    let colon = b[start..at_sign].iter().position(|&c| c == b':')?;
    let password = start + colon + 1..at_sign;
    (!password.is_empty()).then_some((start, password, at_sign))
}

/// `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` and 36+ alphanumerics, or `github_pat_`
/// and 22+ word characters.
pub(super) fn github_token(b: &[u8], i: usize) -> Option<(Range<usize>, Kind)> {
    let end = if starts(b, i, b"github_pat_") {
        let n = run(b, i + 11, is_word);
        (n >= 22).then_some(i + 11 + n)?
    } else if starts(b, i, b"gh")
        && matches!(at(b, i + 2), b'p' | b'o' | b'u' | b's' | b'r')
        && at(b, i + 3) == b'_'
    {
        let n = run(b, i + 4, |c| c.is_ascii_alphanumeric());
        (n >= 36 && !is_word(at(b, i + 4 + n))).then_some(i + 4 + n)?
    } else {
        return None;
    };
    Some((i..end, Kind::GithubToken))
}

/// `AKIA`, `ASIA`, `ABIA`, `ACCA` or `A3T` and one more, then exactly 16
/// uppercase letters or digits.
pub(super) fn aws_key(b: &[u8], i: usize) -> Option<(Range<usize>, Kind)> {
    let prefix = [&b"AKIA"[..], b"ASIA", b"ABIA", b"ACCA"]
        .iter()
        .any(|p| starts(b, i, p))
        || (starts(b, i, b"A3T")
            && (at(b, i + 3).is_ascii_uppercase() || at(b, i + 3).is_ascii_digit()));
    if !prefix {
        return None;
    }
    let n = run(b, i + 4, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
    (n == 16 && !is_word(at(b, i + 20))).then_some((i..i + 20, Kind::AwsAccessKey))
}

/// `Bearer`, blanks, then a token of 8+ characters: only the token is masked.
pub(super) fn bearer(b: &[u8], i: usize) -> Option<(Range<usize>, Kind)> {
    let is_bearer = |k: usize| {
        b.get(k..k + 6)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"bearer"))
    };
    if !is_bearer(i) {
        return None;
    }
    let start = i + 6 + run(b, i + 6, |c| c == b' ' || c == b'\t');
    let mut end = start + run(b, start, is_token);
    if let Some(k) = b[start..end].windows(5).position(|w| w == b"-----") {
        end = start + k; // `Bearer x=-----BEGIN …`: a PEM block is no token
    }
    // `Bearer db_password=$ecret`: a secret's key and its value, for the
    // key-name rule to see (a token's `=` is padding at its end).
    let key = b[start..end].strip_suffix(b"=").unwrap_or(b"");
    let identifier = key
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if end < b.len() && identifier && super::keys::is_secret_ascii(key, &[], false) {
        return None;
    }
    if end >= start + 6 && is_bearer(end - 6) && matches!(at(b, end), b' ' | b'\t') {
        end -= 6; // `bearer x=Bearer <token>`: the second one starts over
    }
    while end > start && b[end - 1] == b'.' {
        end -= 1; // the full stop of a sentence
    }
    let token = &b[start..end];
    let word = token.len() < 16 && token.iter().all(u8::is_ascii_lowercase);
    let valid = start > i + 6 && token.len() >= 8 && !word;
    valid.then_some((start..end, Kind::BearerToken))
}

/// A PEM private-key block starting at `i`; the end of the text if unterminated.
pub(super) fn private_key(b: &[u8], i: usize) -> Option<usize> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    if !starts(b, i, BEGIN) {
        return None;
    }
    let label_start = i + BEGIN.len();
    let label_len = b[label_start..].iter().take(40).position(|&c| c == b'-')?;
    let label = &b[label_start..label_start + label_len];
    let after = label_start + label_len;
    if !label.ends_with(b"PRIVATE KEY") || !starts(b, after, b"-----") {
        return None;
    }
    let mut p = after + 5;
    while let Some(k) = b[p..].windows(9).position(|w| w == b"-----END ") {
        let q = p + k + 9;
        if starts(b, q, label) && starts(b, q + label_len, b"-----") {
            return Some(q + label_len + 5);
        }
        p = q;
    }
    Some(b.len())
}

#[cfg(test)]
mod tests {
    use crate::redaction::{redact_with, Mode};

    fn s(text: &str) -> String {
        redact_with(text, Mode::SecretsOnly).into_owned()
    }

    #[test]
    fn placeholders_of_the_new_kinds() {
        let hex = "0123456789abcdef".repeat(2);
        assert_eq!(s(&format!("twilio SK{hex}.")), "twilio [API_KEY].");
        assert_eq!(
            s(&format!("crate cio{}!", "Ab3".repeat(10) + "xy")),
            "crate [TOKEN]!"
        );
        assert_eq!(
            s("post to https://hooks.slack.com/services/T0ABCDEF/B0ABCDEFGH/abcdefghijklmnop now"),
            "post to https://hooks.slack.com/services/[WEBHOOK] now"
        );
        assert_eq!(
            s("Authorization: Basic dXNlcjpodW50ZXIy"),
            "Authorization: Basic [BASIC_AUTH]"
        );
        assert_eq!(
            s("GET https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq/getMe"),
            "GET https://api.telegram.org/bot[TOKEN]/getMe"
        );
    }

    #[test]
    fn exact_lengths_and_boundaries() {
        let hex = "0123456789abcdef".repeat(2);
        for text in [
            format!("SK{hex}0"),           // 33 hex: not a Twilio key
            format!("xSK{hex}"),           // inside a word
            format!("dapi{}", &hex[..31]), // too short
            "Basic dXNlcg==".to_owned(),   // `user`, no colon
            "Basic Instinct".to_owned(),
            "hf_transfer npm_config_cache fw_version r8_x".to_owned(),
            "https://hooks.slack.com/services/".to_owned(),
            "12:AAbc".to_owned(),
        ] {
            assert_eq!(s(&text), text);
        }
    }
}
