//! Masks personal data and secrets in prompt and response text before it is
//! logged.
//!
//! [`redact`] replaces each match with a placeholder that says what was there;
//! [`redact_with`] chooses between masking everything ([`Mode::All`], the
//! default) and masking secrets only ([`Mode::SecretsOnly`]); [`find`] reports
//! the spans without replacing them.
//!
//! ```
//! # extern crate llm_traced_core as llm_traced;
//! use llm_traced::redaction::{redact, redact_with, Mode};
//!
//! let text = "Mail bob@example.com, key sk-proj-AbCdEfGhIjKlMnOpQrStUv";
//! assert_eq!(redact(text), "Mail [EMAIL], key [API_KEY]");
//! assert_eq!(redact_with(text, Mode::SecretsOnly), "Mail bob@example.com, key [API_KEY]");
//! ```
//!
//! Personal data: e-mail addresses, phone numbers (international `+…` and
//! North-American forms), US social security numbers, payment card numbers
//! (Luhn-checked) and IPv4/IPv6 addresses. Secrets, masked in every mode:
//!
//! - token formats known by their prefix (`secrets`): OpenAI (`sk-`,
//!   `sk-proj-`, `sk-svcacct-`, `sk-admin-`), Anthropic (`sk-ant-`),
//!   OpenRouter (`sk-or-v1-`), Google (`AIza`), Groq (`gsk_`), xAI (`xai-`),
//!   Hugging Face (`hf_`), Replicate (`r8_`), Perplexity (`pplx-`), Fireworks
//!   (`fw_`), AWS access key ids (`AKIA`, `ASIA`, `ABIA`, `ACCA`, `A3T`),
//!   GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`), GitLab
//!   (`glpat-` and kin), npm (`npm_`), PyPI (`pypi-Ag…`), crates.io (`cio`),
//!   Slack (`xoxb-` and kin, `xapp-`, webhook URLs), Stripe (`sk_live_`,
//!   `rk_live_`, `sk_test_`, …), Twilio (`SK` + 32 hex), SendGrid (`SG.`),
//!   Telegram bot tokens, Discord bot tokens and webhook URLs, Shopify
//!   (`shpat_` and kin), Databricks (`dapi`), HashiCorp Vault (`hvs.`),
//!   DigitalOcean (`dop_v1_`), Doppler (`dp.pt.`), Sentry (`sntryu_`),
//!   Notion (`ntn_`), Linear (`lin_api_`), Postman (`PMAK-`), Grafana
//!   (`glsa_`); JWTs, `Bearer` tokens, `Basic` credentials (base64 of
//!   `user:password`), PEM and OpenSSH private keys, age secret keys;
//! - the password of a URL's userinfo (`postgres://app:…@db/app`);
//! - values whose key names a secret (`keys`): `password: …`,
//!   `"api_key": "…"`, `AccountKey=…;`, and URL query parameters
//!   (`?key=`, `&sig=`, `access_token=`);
//! - the user's patterns and key names ([`Rules`]).
//!
//! Matching is one left-to-right pass over the bytes, without regular
//! expressions: only the start of a word and a few punctuation bytes (`@`,
//! `+`, `(`, `:`, `=`, `-`) can begin a match, so most bytes cost one table
//! lookup; at a word start, its first two bytes choose the one or two token
//! formats worth trying (the keyword pre-filter). A match never starts or
//! ends inside a longer word (`[A-Za-z0-9_]`), except that `\n`, `\r` and
//! `\t` escapes of JSON-encoded text count as separators, and `\"` as a
//! quote. Non-ASCII text is never matched, so every span lies on char
//! boundaries.
//!
//! For a whole record, [`Rules::scrub_record`] (what every output gets);
//! for one string or JSON value that goes out whatever `LLM_REDACT` says
//! (span fields, audit entries), [`scrub_secrets`] and
//! [`scrub_secrets_json`]; for bound values, [`scrub_bound`].
//!
//! Known limits, chosen to keep ordinary text intact: card numbers must also
//! start with 2–6 (the major networks; this spares millisecond timestamps);
//! a `Bearer` "token" of fewer than 16 lowercase letters only is taken to be a
//! word (`bearer instrument`); a 4-part version such as `1.2.3.4` is an IPv4
//! address; phone formats outside the international `+…` and North-American
//! ones (e.g. national `020 7946 0958`) are not detected. A secret with no
//! recognisable shape (an AWS secret access key, a random password) is found
//! only next to a key that names it; an unquoted value ends at whitespace, so
//! `password: correct horse` masks `correct` only.

use std::borrow::Cow;
use std::ops::Range;

mod keys;
#[doc(hidden)]
pub mod pass;
mod personal;
mod scanner;
mod secrets;
mod user;

pub use keys::{ABOUT, SECRET_NAMES};
pub use user::{Rules, RulesWarning};

/// What kind of thing was masked; the replacement text is its
/// [`placeholder`](Kind::placeholder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// An e-mail address, `local@domain.tld`.
    Email,
    /// A phone number: international (`+44 20 7946 0958`) or North-American
    /// (`(555) 123-4567`, `555-123-4567`).
    Phone,
    /// A US social security number (`123-45-6789`, valid area, group and serial).
    Ssn,
    /// A payment card number that passes the Luhn check.
    CardNumber,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// An API key recognised by its prefix: OpenAI and Anthropic (`sk-…`),
    /// OpenRouter, Google (`AIza…`), Groq, xAI, Hugging Face, Replicate,
    /// Perplexity, Fireworks, Stripe, SendGrid, Twilio, Shopify, Databricks,
    /// DigitalOcean, Doppler, Notion, Linear, Postman.
    ApiKey,
    /// An AWS access key id (`AKIA…`, `ASIA…`, `ABIA…`, `ACCA…`, `A3T…`).
    AwsAccessKey,
    /// A GitHub token (`ghp_…`, `gho_…`, `ghu_…`, `ghs_…`, `ghr_…`, `github_pat_…`).
    GithubToken,
    /// A JSON Web Token (`eyJ….eyJ….…`).
    Jwt,
    /// The token after `Bearer ` (the word `Bearer` itself is kept).
    BearerToken,
    /// A PEM private-key block, from `-----BEGIN … PRIVATE KEY-----` to its
    /// `-----END … PRIVATE KEY-----` (or to the end of an unterminated text);
    /// also an age secret key (`AGE-SECRET-KEY-1…`).
    PrivateKey,
    /// An access token of a code host, registry, chat or operations service
    /// recognised by its prefix (GitLab, npm, PyPI, crates.io, Slack,
    /// Telegram, Discord, HashiCorp Vault, Sentry, Grafana).
    AccessToken,
    /// The secret path of a Slack or Discord webhook URL.
    WebhookUrl,
    /// The password of a URL's userinfo (`postgres://app:…@host/db`).
    Password,
    /// The credentials after `Basic ` (base64 of `user:password`).
    BasicCredentials,
    /// A value whose key names a secret (`password: …`, `"api_key": "…"`,
    /// `?key=…`), whatever it looks like.
    NamedSecret,
    /// A match of a user pattern (`LLM_REDACT_PATTERNS`) without a name.
    Custom,
}

impl Kind {
    /// The text that replaces a match of this kind, e.g. `"[EMAIL]"`.
    pub fn placeholder(self) -> &'static str {
        match self {
            Kind::Email => "[EMAIL]",
            Kind::Phone => "[PHONE]",
            Kind::Ssn => "[SSN]",
            Kind::CardNumber => "[CARD]",
            Kind::IpAddress => "[IP]",
            Kind::ApiKey => "[API_KEY]",
            Kind::AwsAccessKey => "[AWS_KEY]",
            Kind::GithubToken => "[GITHUB_TOKEN]",
            Kind::Jwt => "[JWT]",
            Kind::BearerToken => "[BEARER_TOKEN]",
            Kind::PrivateKey => "[PRIVATE_KEY]",
            Kind::AccessToken => "[TOKEN]",
            Kind::WebhookUrl => "[WEBHOOK]",
            Kind::Password => "[PASSWORD]",
            Kind::BasicCredentials => "[BASIC_AUTH]",
            Kind::NamedSecret | Kind::Custom => "[REDACTED]",
        }
    }

    /// Whether this is a secret (masked in every [`Mode`]) rather than
    /// personal data (masked in [`Mode::All`] only).
    pub fn is_secret(self) -> bool {
        !matches!(
            self,
            Kind::Email | Kind::Phone | Kind::Ssn | Kind::CardNumber | Kind::IpAddress
        )
    }
}

/// Which kinds to mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Secrets and personal data (the default).
    #[default]
    All,
    /// Secrets only: personal-data masking was switched off by the user, but
    /// secrets are always masked.
    SecretsOnly,
}

/// Masks the secrets in `text`, never personal data: the built-in formats,
/// `key: value` pairs whose key names a secret, and the installed
/// configuration's user patterns and key names. For text that goes out
/// whatever `LLM_REDACT` says: span fields set when a call starts, audit
/// entries, bound values.
pub fn scrub_secrets(text: &str) -> Cow<'_, str> {
    Rules::global().redact(text, Mode::SecretsOnly)
}

/// [`scrub_secrets`] over a JSON value in place, with key names: a string or
/// number under a key such as `password` or `api_key` becomes
/// `"[REDACTED]"`. Returns whether anything changed.
pub fn scrub_secrets_json(value: &mut serde_json::Value) -> bool {
    Rules::global().scrub_json(value, Mode::SecretsOnly)
}

/// Masks the secrets in bound values (user, session, tenant, tags,
/// metadata) in place, never personal data.
pub fn scrub_bound(bound: &mut crate::context::Bound) {
    Rules::global().scrub_bound(bound);
}

/// Masks personal data and secrets: `redact_with(text, Mode::All)`.
pub fn redact(text: &str) -> Cow<'_, str> {
    redact_with(text, Mode::All)
}

/// Replaces every match of `mode` with its kind's
/// [`placeholder`](Kind::placeholder).
///
/// Returns [`Cow::Borrowed`] without allocating when nothing matched.
pub fn redact_with(text: &str, mode: Mode) -> Cow<'_, str> {
    let spans = find(text, mode);
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (range, kind) in spans {
        out.push_str(&text[last..range.start]);
        out.push_str(kind.placeholder());
        last = range.end;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// The byte ranges that [`redact_with`] would mask, with their kinds: sorted,
/// non-overlapping and on char boundaries.
pub fn find(text: &str, mode: Mode) -> Vec<(Range<usize>, Kind)> {
    find_with_keys(text, mode, &[])
}

/// [`find`] with extra secret key names (written together, lowercase).
fn find_with_keys(text: &str, mode: Mode, extra_keys: &[String]) -> Vec<(Range<usize>, Kind)> {
    scanner::find_with_keys(text, mode, extra_keys)
}

#[cfg(test)]
mod tests;
