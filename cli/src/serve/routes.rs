//! The URLs. Ids in paths are looked up in the index, never joined into a
//! file path; the only files ever read are the inputs' own.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::html::{self, esc, Tab};
use super::query::Query;
use super::App;

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

type Shared = State<Arc<App>>;

/// The router, behind the guard.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(list))
        .route("/calls/{request_id}", get(call))
        .route("/traces/{trace_id}", get(trace))
        .route("/sessions/{session_id}", get(session))
        .route("/stats", get(stats))
        .route("/stats.json", get(stats_json))
        .route("/events", get(events))
        .route("/export", get(export))
        .route("/skipped", get(skipped))
        .route("/api/search-progress", get(search_progress))
        .route("/assets/app.css", get(css))
        .route("/assets/app.js", get(js))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            super::guard::check,
        ))
        .with_state(app)
}

fn skipped_count(app: &App) -> u64 {
    app.index
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .skipped_count
}

async fn not_found(State(app): Shared) -> Response {
    let body = "<h1>Not found</h1><p>There is no such page.</p><p><a href=\"/\">All calls</a></p>";
    (
        StatusCode::NOT_FOUND,
        Html(html::page(
            "Not found",
            Tab::Other,
            skipped_count(&app),
            body,
        )),
    )
        .into_response()
}

/// Runs blocking work (disk reads, searches) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("llm-traced serve: {e}\n"),
        )
            .into_response()
    })
}

async fn list(State(app): Shared, RawQuery(raw): RawQuery) -> Response {
    let query = Query::parse(raw.as_deref());
    let r = blocking(move || {
        let matches = (!query.q.is_empty()).then(|| app.search.matches(&app.index, &query.q));
        let index = app.index.read().unwrap_or_else(|e| e.into_inner());
        let body = super::list::render(&index, &query, matches.as_deref().map(Vec::as_slice));
        let title = if query.any_filter() {
            format!("Calls: {}", query.describe())
        } else {
            "Calls".to_owned()
        };
        html::page(&title, Tab::Calls, index.skipped_count, &body)
    })
    .await;
    match r {
        Ok(page) => Html(page).into_response(),
        Err(e) => e,
    }
}

async fn call(State(app): Shared, Path(request_id): Path<String>) -> Response {
    let rid = request_id.clone();
    let app2 = app.clone();
    let r = blocking(move || {
        let index = app.index.read().unwrap_or_else(|e| e.into_inner());
        let id = index.call(&rid)?;
        let (title, body) = super::call::render(&index, id);
        Some(html::page(&title, Tab::Other, index.skipped_count, &body))
    })
    .await;
    match r {
        Ok(Some(page)) => Html(page).into_response(),
        Ok(None) => not_found_id(&app2, &request_id, "call"),
        Err(e) => e,
    }
}

async fn trace(
    State(app): Shared,
    Path(trace_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let selected: Option<String> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "call")
        .map(|(_, v)| v.into_owned());
    let t = trace_id.clone();
    let app2 = app.clone();
    let r = blocking(move || {
        let index = app.index.read().unwrap_or_else(|e| e.into_inner());
        let ids = index.trace(&t);
        if ids.is_empty() {
            return None;
        }
        let selected = selected
            .and_then(|s| index.call(&s))
            .filter(|id| ids.contains(id));
        let body = super::trace::render(&index, &t, ids, selected);
        Some(html::page(
            &format!("Trace {}", t.get(..8).unwrap_or(&t)),
            Tab::Other,
            index.skipped_count,
            &body,
        ))
    })
    .await;
    match r {
        Ok(Some(page)) => Html(page).into_response(),
        Ok(None) => not_found_id(&app2, &trace_id, "trace"),
        Err(e) => e,
    }
}

fn not_found_id(app: &App, id: &str, what: &str) -> Response {
    let body = format!(
        "<h1>Not found</h1><p>No {what} with the id <code>{}</code> is known.</p><p><a href=\"/\">All calls</a></p>",
        esc(id)
    );
    (
        StatusCode::NOT_FOUND,
        Html(html::page(
            "Not found",
            Tab::Other,
            skipped_count(app),
            &body,
        )),
    )
        .into_response()
}

async fn session(
    State(app): Shared,
    Path(session_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let page: usize = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1);
    let sid = session_id.clone();
    let app2 = app.clone();
    let r = blocking(move || {
        let index = app.index.read().unwrap_or_else(|e| e.into_inner());
        let ids = index.session(&sid);
        if ids.is_empty() {
            return None;
        }
        let body = super::session::render(&index, &sid, ids, page);
        Some(html::page(
            &format!("Session {sid}"),
            Tab::Other,
            index.skipped_count,
            &body,
        ))
    })
    .await;
    match r {
        Ok(Some(page)) => Html(page).into_response(),
        Ok(None) => not_found_id(&app2, &session_id, "session"),
        Err(e) => e,
    }
}

fn filtered(app: &App, query: &Query) -> Vec<u32> {
    let matches = (!query.q.is_empty()).then(|| app.search.matches(&app.index, &query.q));
    let index = app.index.read().unwrap_or_else(|e| e.into_inner());
    let mut ids = query.filter(&index);
    if let Some(m) = matches {
        ids.retain(|&id| m.get(id as usize).copied().unwrap_or(false));
    }
    ids
}

async fn stats(State(app): Shared, RawQuery(raw): RawQuery) -> Response {
    let query = Query::parse(raw.as_deref());
    let r = blocking(move || {
        let ids = filtered(&app, &query);
        let index = app.index.read().unwrap_or_else(|e| e.into_inner());
        let body = super::stats::render(&index, &query, &ids);
        html::page("Stats", Tab::Stats, index.skipped_count, &body)
    })
    .await;
    match r {
        Ok(page) => Html(page).into_response(),
        Err(e) => e,
    }
}

async fn stats_json(State(app): Shared, RawQuery(raw): RawQuery) -> Response {
    let query = Query::parse(raw.as_deref());
    let r = blocking(move || {
        let ids = filtered(&app, &query);
        let index = app.index.read().unwrap_or_else(|e| e.into_inner());
        let by = match query.by.as_str() {
            "hour" => Some(crate::stats::aggregate::Bucket::Hour),
            "day" => Some(crate::stats::aggregate::Bucket::Day),
            _ => None,
        };
        let report = super::stats::report(&index, &ids, by, app.inputs.clone());
        serde_json::to_string_pretty(&report).unwrap_or_default()
    })
    .await;
    match r {
        Ok(json) => (
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            json,
        )
            .into_response(),
        Err(e) => e,
    }
}

/// The current filter in one of the `export` command's formats.
async fn export_as(app: std::sync::Arc<App>, query: Query, name: &str) -> Response {
    use clap::ValueEnum;
    let Ok(format) = crate::export::Format::from_str(name, false) else {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!(
                "llm-traced serve: unknown export format {name:?}: expected records, \
                 chat-jsonl, promptfoo, openai-evals, langfuse or csv\n"
            ),
        )
            .into_response();
    };
    let csv = format == crate::export::Format::Csv;
    let body = blocking(move || {
        let ids = filtered(&app, &query);
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let (text, source) = {
                let index = app.index.read().unwrap_or_else(|e| e.into_inner());
                let e = index.entry(id);
                let source = match &e.body {
                    super::index::Body::Conversation(path) => path.display().to_string(),
                    super::index::Body::LogLine { file, .. } => index
                        .log_files
                        .get(*file as usize)
                        .map_or_else(String::new, |p| p.display().to_string()),
                };
                (super::load::read_body(&index, &e.body), source)
            };
            let Ok(record) = text.and_then(|t| {
                llm_traced_runtime::record::CallRecord::from_json(&t).map_err(|e| e.to_string())
            }) else {
                continue;
            };
            let started = record.started_at.timestamp_micros();
            found.push(crate::export::Found {
                record,
                source,
                started,
            });
        }
        found.sort_by(|a, b| {
            crate::conversations::Order::of_record(&a.record)
                .cmp(&crate::conversations::Order::of_record(&b.record))
                .then_with(|| a.source.cmp(&b.source))
        });
        // Failed calls only in csv, as the command does without --include-errors
        // (the viewer's status filter selects them otherwise).
        if !csv && query.status.is_empty() {
            found.retain(|f| f.record.status == llm_traced_runtime::record::Status::Ok);
        }
        let mut out = String::new();
        crate::export::write(format, None, &found, &mut out);
        out
    })
    .await;
    match body {
        Ok(body) => {
            let (kind, file) = if csv {
                ("text/csv; charset=utf-8", "llm-traced-export.csv")
            } else {
                (
                    "application/x-ndjson; charset=utf-8",
                    "llm-traced-export.jsonl",
                )
            };
            (
                [
                    (header::CONTENT_TYPE, kind.to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{file}\""),
                    ),
                ],
                body,
            )
                .into_response()
        }
        Err(response) => response,
    }
}

async fn events(State(app): Shared, RawQuery(raw): RawQuery) -> Response {
    let query = Query::parse(raw.as_deref());
    let scored = form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
        .any(|(k, v)| k == "scores" && v == "1");
    super::live::events(app, query, scored).into_response()
}

async fn export(State(app): Shared, RawQuery(raw): RawQuery) -> Response {
    let query = Query::parse(raw.as_deref());
    let format = form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v.into_owned());
    if let Some(name) = format.filter(|f| f != "records") {
        return export_as(app, query, &name).await;
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(16);
    tokio::task::spawn_blocking(move || {
        let ids = filtered(&app, &query);
        let mut chunk = Vec::with_capacity(256 * 1024);
        for id in ids {
            let line = {
                let index = app.index.read().unwrap_or_else(|e| e.into_inner());
                let e = index.entry(id);
                super::load::read_body(&index, &e.body)
            };
            let Ok(text) = line else { continue };
            // One record per line: conversation files are pretty-printed.
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) => {
                    if serde_json::to_writer(&mut chunk, &v).is_err() {
                        continue;
                    }
                }
                Err(_) => continue,
            }
            chunk.push(b'\n');
            if chunk.len() >= 256 * 1024
                && tx.blocking_send(Ok(std::mem::take(&mut chunk))).is_err()
            {
                return;
            }
        }
        if !chunk.is_empty() {
            let _ = tx.blocking_send(Ok(chunk));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"llm-traced-export.jsonl\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn skipped(State(app): Shared) -> Response {
    let index = app.index.read().unwrap_or_else(|e| e.into_inner());
    let mut b = format!(
        "<h1>Skipped inputs</h1><p id=\"skipped-count\">{} file(s) or line(s) are not llm-traced records and were left out.</p>\
         <table class=\"small-table\" id=\"skipped\"><tr><th>input</th><th>reason</th></tr>",
        index.skipped_count
    );
    for s in &index.skipped {
        b.push_str(&format!(
            "<tr><td class=\"mono\">{}</td><td>{}</td></tr>",
            esc(&s.what),
            esc(&s.reason)
        ));
    }
    b.push_str("</table>");
    if index.skipped_count > index.skipped.len() as u64 {
        b.push_str(&format!(
            "<p class=\"note\">The first {} are listed.</p>",
            index.skipped.len()
        ));
    }
    Html(html::page("Skipped", Tab::Other, index.skipped_count, &b)).into_response()
}

async fn search_progress(State(app): Shared) -> Response {
    let p = app
        .search
        .progress
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let json = serde_json::json!({
        "query": p.query,
        "done": p.done.load(std::sync::atomic::Ordering::Relaxed),
        "total": p.total,
        "running": p.running,
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        json.to_string(),
    )
        .into_response()
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        CSS,
    )
        .into_response()
}

async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        JS,
    )
        .into_response()
}
