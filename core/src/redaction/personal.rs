//! Personal data: e-mail addresses, phone numbers, US social security
//! numbers, payment card numbers and IP addresses. Masked in `Mode::All`
//! only.

use std::ops::Range;

use super::scanner::*;
use super::Kind;

/// The end of the domain of an e-mail address starting at `p`: labels of
/// `[A-Za-z0-9-]` not starting with `-`, at least two, the last (the TLD) of
/// 2+ letters.
pub(super) fn email_domain_end(b: &[u8], mut p: usize) -> Option<usize> {
    let (mut labels, mut end) = (0, None);
    loop {
        let n = run(b, p, is_domain);
        if n == 0 || b[p] == b'-' {
            break;
        }
        labels += 1;
        if labels >= 2 && n >= 2 && b[p..p + n].iter().all(u8::is_ascii_alphabetic) {
            end = Some(p + n);
        }
        p += n;
        if at(b, p) != b'.' || !is_domain(at(b, p + 1)) {
            break;
        }
        p += 1;
    }
    end.filter(|&e| !is_word(at(b, e)))
}
/// IPv4, IPv6, SSN, card or phone number at the digit that starts a word at `i`.
pub(super) fn numeric(b: &[u8], i: usize) -> Option<(Range<usize>, Kind)> {
    // Not from inside a longer number: the `01` of `2024-01-15`, the `2` of `1.2.3.4.5`.
    if i >= 2 && matches!(b[i - 1], b'-' | b'.') && b[i - 2].is_ascii_digit() {
        return None;
    }
    let hit = |end: Option<usize>, kind| end.map(|e| (i..e, kind));
    hit(ipv6(b, i), Kind::IpAddress)
        .or_else(|| hit(ipv4(b, i), Kind::IpAddress))
        .or_else(|| hit(ssn(b, i), Kind::Ssn))
        .or_else(|| hit(card(b, i), Kind::CardNumber))
        .or_else(|| hit(na_phone(b, i), Kind::Phone))
}

/// Four dotted octets of 0–255.
pub(super) fn ipv4(b: &[u8], i: usize) -> Option<usize> {
    let mut p = i;
    for octet in 0..4 {
        if octet > 0 {
            if at(b, p) != b'.' {
                return None;
            }
            p += 1;
        }
        let n = digits(b, p);
        if n == 0 || n > 3 || value(b, p, n) > 255 {
            return None;
        }
        p += n;
    }
    number_ends(b, p).then_some(p)
}

/// Where an IPv6 address containing the `:` at `i` would start: at a leading
/// `::`, or at the hex word before the colon if that starts with a letter
/// (words starting with a digit were tried as numbers).
pub(super) fn ipv6_start(b: &[u8], i: usize) -> Option<usize> {
    let next = at(b, i + 1);
    if next != b':' && !next.is_ascii_hexdigit() {
        return None;
    }
    let before = b[..i].iter().rev().take(5);
    let n = before.take_while(|c| c.is_ascii_hexdigit()).count();
    let start = i - n;
    match n {
        0 if next == b':' && boundary_before(b, i) => Some(i),
        1..=4 if b[start].is_ascii_alphabetic() && boundary_before(b, start) => Some(start),
        _ => None,
    }
}

/// Eight hex groups, or fewer around one `::` with at least one digit (so that
/// `a::b` and `::` are not addresses); a dotted IPv4 may end it.
pub(super) fn ipv6(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && b[i - 1] == b':' {
        return None; // the tail of a longer colon-separated run
    }
    let (mut p, mut groups, mut compressed, mut digit) = (i, 0, false, false);
    if at(b, p) == b':' {
        if at(b, p + 1) != b':' {
            return None;
        }
        (p, compressed) = (p + 2, true);
    }
    loop {
        let n = run(b, p, |c| c.is_ascii_hexdigit());
        if n == 0 {
            break;
        }
        if n > 4 {
            return None;
        }
        if at(b, p + n) == b'.' && at(b, p + n + 1).is_ascii_digit() {
            (p, groups, digit) = (ipv4(b, p)?, groups + 2, true);
            break;
        }
        digit |= b[p..p + n].iter().any(u8::is_ascii_digit);
        (p, groups) = (p + n, groups + 1);
        if at(b, p) != b':' {
            break;
        }
        if at(b, p + 1) == b':' {
            if compressed {
                return None; // two `::`, as in `std::io::Error`
            }
            (p, compressed) = (p + 2, true);
        } else if at(b, p + 1).is_ascii_hexdigit() {
            p += 1;
        } else {
            break;
        }
    }
    let valid = if compressed {
        groups <= 7 && digit
    } else {
        groups == 8
    };
    (valid && !is_word(at(b, p))).then_some(p)
}

/// `AAA-GG-SSSS` with area not 000, 666 or 9xx, group not 00, serial not 0000.
pub(super) fn ssn(b: &[u8], i: usize) -> Option<usize> {
    let shape = digits(b, i) == 3
        && at(b, i + 3) == b'-'
        && digits(b, i + 4) == 2
        && at(b, i + 6) == b'-'
        && digits(b, i + 7) == 4;
    if !shape {
        return None;
    }
    let area = value(b, i, 3);
    let valid = area != 0
        && area != 666
        && area < 900
        && value(b, i + 4, 2) != 0
        && value(b, i + 7, 4) != 0;
    (valid && number_ends(b, i + 11)).then_some(i + 11)
}

/// 13–19 digits starting with 2–6, contiguous or in groups (4-4-4-4[-1..4],
/// 4-6-5, 4-6-4) split by single spaces or dashes, passing the Luhn check.
/// Another number may follow a space-separated card: `4111 1111 1111 1111 2024`.
pub(super) fn card(b: &[u8], i: usize) -> Option<usize> {
    if !(b'2'..=b'6').contains(&b[i]) {
        return None;
    }
    let valid = |end: usize| number_ends(b, end) && luhn(&b[i..end]);
    let first = digits(b, i);
    if first != 4 {
        return ((13..=19).contains(&first) && valid(i + first)).then_some(i + first);
    }
    let sep = at(b, i + 4);
    if sep != b' ' && sep != b'-' {
        return None;
    }
    let (mut sizes, mut ends, mut count) = ([4; 5], [i + 4; 5], 1);
    while count < 5 && at(b, ends[count - 1]) == sep && at(b, ends[count - 1] + 1).is_ascii_digit()
    {
        sizes[count] = digits(b, ends[count - 1] + 1);
        ends[count] = ends[count - 1] + 1 + sizes[count];
        count += 1;
    }
    let shortest = if sep == b' ' { 2 } else { count };
    (shortest..=count).rev().find_map(|k| {
        let groups = &sizes[..k];
        let total: usize = groups.iter().sum();
        let (last, body) = groups.split_last()?;
        let fours = body.iter().all(|&n| n == 4) && (1..=4).contains(last);
        let amex = groups == [4, 6, 5] || groups == [4, 6, 4];
        ((13..=19).contains(&total) && (fours || amex) && valid(ends[k - 1])).then_some(ends[k - 1])
    })
}

/// The Luhn checksum over the digits of `s` (other bytes are skipped).
pub(super) fn luhn(s: &[u8]) -> bool {
    let mut sum = 0;
    for (k, &c) in s.iter().rev().filter(|c| c.is_ascii_digit()).enumerate() {
        let d = u32::from(c - b'0');
        sum += if k % 2 == 1 {
            (d * 2) % 10 + d * 2 / 10
        } else {
            d
        };
    }
    sum % 10 == 0
}

/// `555-123-4567`, `555.123.4567`, `555 123 4567`, also after a `1` trunk
/// prefix (`1-800-555-1234`), one separator throughout.
pub(super) fn na_phone(b: &[u8], i: usize) -> Option<usize> {
    let trunk = at(b, i) == b'1' && digits(b, i) == 1;
    let (p, sep) = if trunk {
        (i + 2, Some(at(b, i + 1)))
    } else {
        (i, None)
    };
    if digits(b, p) != 3 {
        return None;
    }
    let s = at(b, p + 3);
    let shape = matches!(s, b'-' | b'.' | b' ')
        && sep.is_none_or(|t| t == s)
        && (s != b' ' || b[p] >= b'2') // spaced: a real area code, not `100 200 3000`
        && digits(b, p + 4) == 3
        && at(b, p + 7) == s
        && digits(b, p + 8) == 4;
    (shape && number_ends(b, p + 12)).then_some(p + 12)
}

/// `(555) 123-4567`, `(555)123.4567`, `(555) 1234567`.
pub(super) fn paren_phone(b: &[u8], i: usize) -> Option<usize> {
    if digits(b, i + 1) != 3 || at(b, i + 4) != b')' {
        return None;
    }
    let p = if at(b, i + 5) == b' ' { i + 6 } else { i + 5 };
    let end = match digits(b, p) {
        7 => p + 7,
        3 if matches!(at(b, p + 3), b'-' | b'.' | b' ') && digits(b, p + 4) == 4 => p + 8,
        _ => return None,
    };
    number_ends(b, end).then_some(end)
}

/// `+`, then 8–15 digits in groups split by a space, `-` or `.`, with optional
/// parenthesized groups: `+44 (0)20 7946 0958`, `+1-555-123-4567`, `+14155552671`.
/// Once it has 10 digits, a space ends it (`+44 20 7946 0958 2024`).
pub(super) fn intl_phone(b: &[u8], i: usize) -> Option<usize> {
    if !boundary_before(b, i) || !at(b, i + 1).is_ascii_digit() {
        return None; // `a+1`: arithmetic
    }
    let (mut p, mut end, mut count) = (i + 1, i + 1, 0);
    loop {
        let (len, next) = if at(b, p) == b'(' {
            let n = digits(b, p + 1);
            if n == 0 || n > 4 || at(b, p + 1 + n) != b')' {
                break;
            }
            (n, p + n + 2)
        } else {
            match digits(b, p) {
                0 => break,
                n => (n, p + n),
            }
        };
        if count + len > 15 {
            break;
        }
        (count, end, p) = (count + len, next, next);
        let (c, follows) = (at(b, p), at(b, p + 1));
        if matches!(c, b' ' | b'-' | b'.') && (follows.is_ascii_digit() || follows == b'(') {
            if c == b' ' && count >= 10 {
                break;
            }
            p += 1;
        } else if !c.is_ascii_digit() && c != b'(' {
            break; // else `(0)20` or `44(0)`: no separator
        }
    }
    ((8..=15).contains(&count) && number_ends(b, end)).then_some(end)
}
