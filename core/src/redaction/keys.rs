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
    "signingkey",
    "encryptionkey",
    "masterkey",
    "passcode",
    "connectionstring",
];

/// Extra names that are secret as URL query parameters (`?key=…`, `&sig=…`,
/// `X-Amz-Signature=…`); in text, `key:` and `signature:` are usually prose.
const QUERY_NAMES: &[&str] = &["key", "sig", "signature", "code"];

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

/// The set of ASCII letters in `s`, one bit each, case folded.
const fn letters(s: &[u8]) -> u32 {
    let mut mask = 0;
    let mut i = 0;
    while i < s.len() {
        let c = s[i] | 0x20;
        if c.is_ascii_lowercase() {
            mask |= 1 << (c - b'a');
        }
        i += 1;
    }
    mask
}

/// Substrings of which every built-in name contains one, with their letters.
const STEMS: [(&[u8], u32); 10] = {
    const fn stem(s: &'static [u8]) -> (&'static [u8], u32) {
        (s, letters(s))
    }
    [
        stem(b"pass"),
        stem(b"pwd"),
        stem(b"secret"),
        stem(b"token"),
        stem(b"key"),
        stem(b"auth"),
        stem(b"cred"),
        stem(b"cookie"),
        stem(b"sig"),
        stem(b"string"),
    ]
};

/// Whether `key` names a secret: against [`SECRET_NAMES`], the `extra` names
/// (already written together, lowercase) and, in a URL query, a few more.
pub(super) fn is_secret_name(key: &str, extra: &[String], query: bool) -> bool {
    if key.is_ascii() {
        return is_secret_ascii(key.as_bytes(), extra, query);
    }
    if key.len() > 64 || !prefilter(key.as_bytes(), extra, query) {
        return false;
    }
    let owned = words(key);
    let words: Vec<&[u8]> = owned.iter().map(String::as_bytes).collect();
    named_words(&words, extra, query)
}

/// [`is_secret_name`] for an ASCII key (what the text scanner reads).
pub(super) fn is_secret_ascii(key: &[u8], extra: &[String], query: bool) -> bool {
    if key.is_empty() || key.len() > 64 || !prefilter(key, extra, query) {
        return false;
    }
    // Word boundaries without allocating: this runs for every key that
    // passes the pre-filter (`max_tokens`, `token_count`, …).
    let mut ranges = [(0, 0); 16];
    let n = ascii_words(key, &mut ranges);
    let mut words: [&[u8]; 16] = [b""; 16];
    for (word, &(start, end)) in words.iter_mut().zip(&ranges[..n]) {
        *word = &key[start..end];
    }
    named_words(&words[..n], extra, query)
}

/// A cheap test before splitting a key into words (it runs at every `:` and
/// `=` of the scanned text): every built-in name contains one of `STEMS`,
/// and a stem can only be there if all its letters are.
fn prefilter(key: &[u8], extra: &[String], query: bool) -> bool {
    if !extra.is_empty() || query {
        return true;
    }
    let mask = letters(key);
    let contains = |needle: &[u8]| {
        key.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    STEMS
        .iter()
        .any(|&(stem, need)| mask & need == need && contains(stem))
}

/// The word ranges of an ASCII key, as [`words`] splits it; at most 16 (a
/// longer key is judged by its first 16 words).
fn ascii_words(key: &[u8], out: &mut [(usize, usize); 16]) -> usize {
    let (mut n, mut start, mut prev_lower) = (0, None, false);
    for (i, &c) in key.iter().enumerate() {
        let alnum = c.is_ascii_alphanumeric();
        let camel = c.is_ascii_uppercase() && prev_lower;
        if let Some(s) = start.filter(|_| !alnum || camel) {
            if n < out.len() {
                out[n] = (s, i);
                n += 1;
            }
            start = None;
        }
        if alnum && start.is_none() {
            start = Some(i);
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
    }
    if let Some(s) = start {
        if n < out.len() {
            out[n] = (s, key.len());
            n += 1;
        }
    }
    n
}

/// Whether `words`, written together, are `name` (ASCII case ignored).
fn joined_is(words: &[&[u8]], name: &str) -> bool {
    let total: usize = words.iter().map(|w| w.len()).sum();
    if total != name.len() {
        return false;
    }
    let mut rest = name.as_bytes();
    for word in words {
        let (head, tail) = rest.split_at(word.len());
        if !word.eq_ignore_ascii_case(head) {
            return false;
        }
        rest = tail;
    }
    true
}

/// The matching rule of [`is_secret_name`] over a key's words. The `ABOUT`
/// and `COUNTING` lists are consulted only once a name has matched.
fn named_words(words: &[&[u8]], extra: &[String], query: bool) -> bool {
    let listed =
        |word: &[u8], list: &[&str]| list.iter().any(|x| word.eq_ignore_ascii_case(x.as_bytes()));
    let names = || {
        SECRET_NAMES
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str))
            .chain(QUERY_NAMES.iter().copied().filter(|_| query))
    };
    let longest = names().map(str::len).max().unwrap_or(0);
    for end in 0..words.len() {
        let about = || words.get(end + 1).is_some_and(|next| listed(next, ABOUT));
        let mut total = 0;
        for start in (0..=end).rev() {
            total += words[start].len();
            if total > longest {
                break;
            }
            let run = &words[start..=end];
            if names().any(|name| name.len() == total && joined_is(run, name)) {
                let counting = start > 0 && listed(words[start - 1], COUNTING);
                if !counting && !about() {
                    return true;
                }
            }
        }
        let word = words[end];
        let suffix = word.len() > 5
            && names()
                .filter(|name| !QUERY_NAMES.contains(name))
                .any(|name| {
                    name.len() >= 5
                        && word.len() > name.len()
                        && word[word.len() - name.len()..].eq_ignore_ascii_case(name.as_bytes())
                });
        if suffix && !about() {
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
            "signing_key",
            "MASTER_KEY",
            "passcode",
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
            "public_key",
            "primary_key",
            "aws_access_key_id",
            "private_key_id",
            "name",
            "",
        ] {
            assert!(!secret(key), "{key}");
        }
    }

    #[test]
    fn ascii_words_split_as_words_does() {
        for key in [
            "X-Api-Key",
            "mysqlPassword",
            "aws_secret_access_key",
            "HTTPServer",
            "a1B2",
            "--x--",
            "tokenCount",
        ] {
            let mut ranges = [(0, 0); 16];
            let n = ascii_words(key.as_bytes(), &mut ranges);
            let split: Vec<String> = ranges[..n]
                .iter()
                .map(|&(s, e)| key[s..e].to_lowercase())
                .collect();
            assert_eq!(split, words(key), "{key}");
        }
        // Non-ASCII keys take the allocating path and agree.
        assert!(secret("clé_password") && !secret("clé_token_count"));
    }

    #[test]
    fn every_name_passes_the_prefilter() {
        for name in SECRET_NAMES {
            assert!(prefilter(name.as_bytes(), &[], false), "{name}");
            assert!(secret(name), "{name}");
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
