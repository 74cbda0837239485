//! Key-name scrubbing: a value whose key says it is secret is masked whatever
//! it looks like, in structured content (`{"password": "…"}`) and in text
//! (`password: …`, `api_key=…`).
//!
//! A key is split into lowercase words at `_`, `-`, `.`, spaces and
//! camelCase (`X-Api-Key` → `x api key`, `clientSecret` → `client secret`).
//! It names a secret when a run of its words, written together, is one of
//! [`SECRET_NAMES`] (`api key` and `apikey` alike), or one word ends with a
//! name of five letters or more (`mysqlpassword`, `githubtoken`), unless the
//! next word says the value is about the secret rather than the secret itself
//! ([`ABOUT`]: `token_count`, `password_reset`, `secret_name`). So
//! `max_tokens`, `author` and `token_count` are not secret names.

/// The built-in secret key names, words written together.
pub const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "secretkey",
    "clientsecret",
    "authorization",
    "auth",
    "credential",
    "credentials",
    "cookie",
    "setcookie",
    "sessiontoken",
    "accountkey",
    "sharedaccesskey",
    "signature",
    "connectionstring",
];

/// Extra names that are secret as URL query parameters (`?key=…`, `&sig=…`).
const QUERY_NAMES: &[&str] = &["key", "sig", "code"];

/// Words that, right after a secret name, make the value a fact about the
/// secret: `token_count`, `password_reset`, `secret_name`, `api_key_env`.
pub const ABOUT: &[&str] = &[
    "count",
    "counts",
    "type",
    "types",
    "limit",
    "limits",
    "usage",
    "length",
    "len",
    "size",
    "name",
    "names",
    "id",
    "ids",
    "reset",
    "expiry",
    "expires",
    "expiration",
    "ttl",
    "url",
    "uri",
    "path",
    "file",
    "env",
    "var",
    "hint",
    "policy",
    "required",
    "rotation",
    "header",
    "field",
    "index",
    "format",
    "version",
    "strength",
    "budget",
    "used",
    "remaining",
    "prefix",
    "label",
    "description",
    "provider",
    "endpoint",
];

/// Words before a name that make it a number, not a secret: `max_token`.
const COUNTING: &[&str] = &["max", "min", "num", "total", "n"];

/// The words of a key: lowercase, split at non-alphanumerics and camelCase.
pub(super) fn words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Whether `key` names a secret: against [`SECRET_NAMES`], the `extra` names
/// (already written together, lowercase) and, in a URL query, a few more.
pub(super) fn is_secret_name(key: &str, extra: &[String], query: bool) -> bool {
    if key.is_empty() || key.len() > 64 {
        return false;
    }
    // A cheap pre-filter before splitting the key into words: every built-in
    // name contains one of these.
    let contains = |needle: &[u8]| {
        key.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    let stems: [&[u8]; 10] = [
        b"pass", b"pwd", b"secret", b"token", b"key", b"auth", b"cred", b"cookie", b"sig",
        b"string",
    ];
    if extra.is_empty() && !query && !stems.iter().any(|s| contains(s)) {
        return false;
    }
    let words = words(key);
    let named = |joined: &str| {
        SECRET_NAMES.contains(&joined)
            || extra.iter().any(|e| e == joined)
            || (query && QUERY_NAMES.contains(&joined))
    };
    for end in 0..words.len() {
        let about = words
            .get(end + 1)
            .is_some_and(|next| ABOUT.contains(&next.as_str()));
        if about {
            continue;
        }
        let mut joined = String::new();
        for start in (0..=end).rev() {
            joined.insert_str(0, &words[start]);
            let counting = start > 0 && COUNTING.contains(&words[start - 1].as_str());
            if named(&joined) && !counting {
                return true;
            }
        }
        let word = &words[end];
        let suffix = SECRET_NAMES
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str))
            .any(|name| name.len() >= 5 && word.len() > name.len() && word.ends_with(name));
        if suffix {
            return true;
        }
    }
    false
}

/// Normalises a user-given key name (`LLM_REDACT_KEYS`): its words written together.
pub(super) fn normalise(name: &str) -> String {
    words(name).concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(key: &str) -> bool {
        is_secret_name(key, &[], false)
    }

    #[test]
    fn names_that_say_secret() {
        for key in [
            "password",
            "PASSWORD",
            "db_password",
            "mysqlPassword",
            "mysqlpassword",
            "api_key",
            "apiKey",
            "X-Api-Key",
            "x-api-key",
            "apikey",
            "OPENAI_API_KEY",
            "aws_secret_access_key",
            "SecretAccessKey",
            "AccountKey",
            "SharedAccessKey",
            "client_secret",
            "clientSecret",
            "access_token",
            "refresh_token",
            "session_token",
            "github_token",
            "githubtoken",
            "Authorization",
            "auth",
            "private_key",
            "credentials",
            "Cookie",
            "Set-Cookie",
            "pwd",
            "passwd",
            "token",
            "secret",
        ] {
            assert!(secret(key), "{key}");
        }
    }

    #[test]
    fn names_that_do_not() {
        for key in [
            "max_tokens",
            "maxTokens",
            "author",
            "authors",
            "token_count",
            "tokenCount",
            "tokens",
            "prompt_tokens",
            "token_type",
            "password_reset",
            "secret_name",
            "api_key_env",
            "keyboard",
            "key",
            "monkey",
            "session_id",
            "user_id",
            "tenant_id",
            "oauth",
            "name",
            "",
        ] {
            assert!(!secret(key), "{key}");
        }
    }

    #[test]
    fn query_and_extra_names() {
        assert!(is_secret_name("key", &[], true) && is_secret_name("sig", &[], true));
        assert!(!is_secret_name("q", &[], true));
        let extra = vec![normalise("Employee-PIN")];
        assert_eq!(extra, ["employeepin"]);
        assert!(is_secret_name("employee_pin", &extra, false));
        assert!(is_secret_name("employeePin", &extra, false));
        assert!(!is_secret_name("employee", &extra, false));
    }
}
