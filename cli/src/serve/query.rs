//! The filters of the calls list and the stats page, as they are in the URL.

use std::fmt::Write as _;

use super::index::{Entry, Index};

/// A column the list sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Start time.
    Time,
    /// Name.
    Name,
    /// Model.
    Model,
    /// Total tokens.
    Tokens,
    /// Cost.
    Cost,
    /// Latency.
    Latency,
    /// Status.
    Status,
}

impl Sort {
    /// The URL value.
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Time => "time",
            Sort::Name => "name",
            Sort::Model => "model",
            Sort::Tokens => "tokens",
            Sort::Cost => "cost",
            Sort::Latency => "latency",
            Sort::Status => "status",
        }
    }

    fn parse(s: &str) -> Option<Sort> {
        Some(match s {
            "time" => Sort::Time,
            "name" => Sort::Name,
            "model" => Sort::Model,
            "tokens" => Sort::Tokens,
            "cost" => Sort::Cost,
            "latency" => Sort::Latency,
            "status" => Sort::Status,
            _ => return None,
        })
    }
}

/// The filters and the page, from the query string.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Model (asked for or answering), exactly.
    pub model: String,
    /// `ok`, `failed` (any other), `error`, `panic`, `cancelled`.
    pub status: String,
    /// Error class (`rate_limit`, …).
    pub error: String,
    /// Function path.
    pub function: String,
    /// Kind (`llm`, `chain`, …).
    pub kind: String,
    /// User.
    pub user: String,
    /// Session.
    pub session: String,
    /// Tenant.
    pub tenant: String,
    /// Tag.
    pub tag: String,
    /// Started at or after (as typed: RFC 3339, a date, an age).
    pub since: String,
    /// Started before.
    pub until: String,
    /// Text searched in prompts and responses.
    pub q: String,
    /// Sort column (time when absent).
    pub sort: Option<Sort>,
    /// Ascending instead of descending.
    pub asc: bool,
    /// Page, from 1.
    pub page: usize,
    /// `hour` or `day` for the stats charts (chosen from the range when empty).
    pub by: String,
    /// Problems with the values given (shown, never fatal).
    pub problems: Vec<String>,
    /// `since`, epoch ms.
    pub since_ms: Option<i64>,
    /// `until`, epoch ms.
    pub until_ms: Option<i64>,
}

/// The filter fields, with their URL names, in the order a URL lists them.
const FIELDS: [&str; 12] = [
    "model", "status", "error", "function", "kind", "user", "session", "tenant", "tag", "since",
    "until", "q",
];

impl Query {
    /// Reads a raw query string.
    pub fn parse(raw: Option<&str>) -> Query {
        let mut q = Query {
            page: 1,
            ..Query::default()
        };
        for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            let v = v.trim().to_owned();
            match &*k {
                "model" => q.model = v,
                "status" => q.status = v,
                "error" => q.error = v,
                "function" => q.function = v,
                "kind" => q.kind = v,
                "user" => q.user = v,
                "session" => q.session = v,
                "tenant" => q.tenant = v,
                "tag" => q.tag = v,
                "since" => q.since = v,
                "until" => q.until = v,
                "q" => q.q = v,
                "by" => q.by = v,
                "sort" => q.sort = Sort::parse(&v),
                "order" => q.asc = v == "asc",
                "page" => q.page = v.parse().unwrap_or(1).max(1),
                _ => {}
            }
        }
        if !q.status.is_empty()
            && !["ok", "failed", "error", "panic", "cancelled"].contains(&q.status.as_str())
        {
            q.problems.push(format!(
                "status `{}` is not one of ok, failed, error, panic, cancelled",
                q.status
            ));
        }
        for (name, text, slot) in [
            ("since", q.since.clone(), &mut q.since_ms),
            ("until", q.until.clone(), &mut q.until_ms),
        ] {
            if text.is_empty() {
                continue;
            }
            match crate::when::parse_when(&text) {
                Ok(ms) => *slot = Some(ms),
                Err(e) => q.problems.push(format!("{name}: {e}")),
            }
        }
        q
    }

    /// The value of a filter field by its URL name.
    pub fn field(&self, name: &str) -> &str {
        match name {
            "model" => &self.model,
            "status" => &self.status,
            "error" => &self.error,
            "function" => &self.function,
            "kind" => &self.kind,
            "user" => &self.user,
            "session" => &self.session,
            "tenant" => &self.tenant,
            "tag" => &self.tag,
            "since" => &self.since,
            "until" => &self.until,
            "q" => &self.q,
            "by" => &self.by,
            _ => "",
        }
    }

    /// Whether any filter is set (the search included).
    pub fn any_filter(&self) -> bool {
        FIELDS.iter().any(|f| !self.field(f).is_empty())
    }

    /// The filters as a query string (no `?`), with `extra` pairs after
    /// them; sort and page are added by the callers that keep them.
    pub fn to_query(&self, extra: &[(&str, &str)]) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for f in FIELDS {
            let v = self.field(f);
            if !v.is_empty() {
                out.append_pair(f, v);
            }
        }
        for (k, v) in extra {
            if !v.is_empty() {
                out.append_pair(k, v);
            }
        }
        out.finish()
    }

    /// The filters with the current sort (for links that change the page).
    pub fn with_sort(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if let Some(s) = self.sort {
            pairs.push(("sort", s.as_str()));
            if self.asc {
                pairs.push(("order", "asc"));
            }
        }
        pairs.extend_from_slice(extra);
        self.to_query(&pairs)
    }

    /// Whether a call passes every filter except the text search.
    pub fn keeps(&self, index: &Index, e: &Entry) -> bool {
        let syms = &index.syms;
        let is = |want: &str, have: Option<super::index::Sym>| {
            want.is_empty() || have.is_some_and(|h| syms.name(h) == want)
        };
        if !(is(&self.model, e.request_model) || is(&self.model, e.response_model)) {
            return false;
        }
        let status_ok = match self.status.as_str() {
            "" => true,
            "failed" => e.failed(),
            s => e.status.as_str() == s,
        };
        if !status_ok {
            return false;
        }
        if !self.error.is_empty() && e.error_class(syms) != Some(self.error.as_str()) {
            return false;
        }
        if !is(&self.function, Some(e.function))
            || !is(&self.kind, Some(e.kind))
            || !is(&self.user, e.user)
            || !is(&self.session, e.session)
            || !is(&self.tenant, e.tenant)
        {
            return false;
        }
        if !self.tag.is_empty() && !e.tags.iter().any(|t| syms.name(*t) == self.tag) {
            return false;
        }
        if self.since_ms.is_some_and(|s| e.started_ms() < s)
            || self.until_ms.is_some_and(|u| e.started_ms() >= u)
        {
            return false;
        }
        true
    }

    /// The ids of the calls passing the filters (not the search), newest
    /// first.
    pub fn filter(&self, index: &Index) -> Vec<u32> {
        index
            .order
            .iter()
            .copied()
            .filter(|&id| self.keeps(index, index.entry(id)))
            .collect()
    }

    /// Sorts ids by the chosen column (ties: newest first).
    pub fn sort(&self, index: &Index, ids: &mut [u32]) {
        let Some(sort) = self.sort else {
            if self.asc {
                ids.reverse();
            }
            return;
        };
        let syms = &index.syms;
        let key_f64 = |e: &Entry| -> f64 {
            match sort {
                Sort::Tokens => e.total_tokens.map_or(-1.0, |t| t as f64),
                Sort::Cost => e.cost_usd.unwrap_or(-1.0),
                Sort::Latency => e.latency_ms,
                _ => e.started_us as f64,
            }
        };
        let text = |e: &Entry| -> &str {
            match sort {
                Sort::Name => syms.name(e.name),
                Sort::Model => e.model().map_or("", |m| syms.name(m)),
                Sort::Status => e.error_class(syms).unwrap_or(""),
                _ => "",
            }
        };
        // `order` is newest first, and the sort is stable: ties stay that way.
        match sort {
            Sort::Time => {
                if self.asc {
                    ids.reverse();
                }
            }
            Sort::Name | Sort::Model | Sort::Status => ids.sort_by(|&a, &b| {
                let o = text(index.entry(a)).cmp(text(index.entry(b)));
                if self.asc {
                    o
                } else {
                    o.reverse()
                }
            }),
            _ => ids.sort_by(|&a, &b| {
                let o = key_f64(index.entry(a)).total_cmp(&key_f64(index.entry(b)));
                if self.asc {
                    o
                } else {
                    o.reverse()
                }
            }),
        }
    }

    /// A short description of the filters, for titles.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for f in FIELDS {
            let v = self.field(f);
            if !v.is_empty() {
                if !out.is_empty() {
                    out.push_str(", ");
                }
                let _ = write!(out, "{f} {v}");
            }
        }
        out
    }
}
