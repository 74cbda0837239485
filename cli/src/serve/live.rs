//! Live: a thread polls the inputs for new calls and new scores and
//! announces them; each open list page listens over server-sent events and
//! gets the rows that pass its filters (a `call` event for a new call, a
//! `scores` event with the updated row of a call whose scores changed).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::query::Query;
use super::App;

/// What a poll announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new (or replaced) call.
    Call(u32),
    /// A known call whose scores changed.
    Scores(u32),
}

/// Starts the thread that polls the inputs.
pub fn spawn_watcher(app: Arc<App>, every: Duration) {
    std::thread::Builder::new()
        .name("llm-traced-watch".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            let polled = {
                let mut loader = app.loader.lock().unwrap_or_else(|e| e.into_inner());
                loader.poll(&app.index)
            };
            let changes = polled
                .added
                .into_iter()
                .map(Change::Call)
                .chain(polled.scored.into_iter().map(Change::Scores));
            for change in changes {
                // No listener is fine.
                let _ = app.live.send(change);
            }
        })
        .map(drop)
        .unwrap_or_else(|e| eprintln!("llm-traced serve: live updates are off: {e}"));
}

/// `/events?…filters`: a `call` event with the row of each new call that
/// passes the filters (a text search reads its body), a `scores` event with
/// the row of such a call whose scores changed. `scored`: the page's table
/// has a scores column, so the rows carry one.
pub fn events(
    app: Arc<App>,
    query: Query,
    scored: bool,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = app.live.subscribe();
    let stream =
        futures_util::stream::unfold((rx, app, query), move |(mut rx, app, query)| async move {
            loop {
                let (id, kind) = match rx.recv().await {
                    Ok(Change::Call(id)) => (id, "call"),
                    Ok(Change::Scores(id)) => (id, "scores"),
                    Err(RecvError::Lagged(_)) => {
                        let event = Event::default().event("reload").data("lagged");
                        return Some((Ok(event), (rx, app, query)));
                    }
                    Err(RecvError::Closed) => return None,
                };
                let row = {
                    let index = app.index.read().unwrap_or_else(|e| e.into_inner());
                    if (id as usize) >= index.entries.len() {
                        continue;
                    }
                    let e = index.entry(id);
                    if !query.keeps(&index, e) {
                        continue;
                    }
                    if !query.q.is_empty() {
                        let body = super::load::read_body(&index, &e.body).unwrap_or_default();
                        if !super::search::content_contains(
                            body.as_bytes(),
                            &query.q.to_lowercase(),
                        ) {
                            continue;
                        }
                    }
                    super::list::row(&index, e, scored)
                };
                let event = Event::default().event(kind).data(row);
                return Some((Ok(event), (rx, app, query)));
            }
        });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
