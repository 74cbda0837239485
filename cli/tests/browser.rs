//! `llm-traced serve` in a real headless Chromium: the views render the
//! recorded data, the keyboard works, recorded markup never runs, and a call
//! recorded after the page loaded appears live. A screenshot of each view
//! is saved under `target/tmp/serve-screenshots/`.
//!
//! The tests share one browser at a time (they run one after the other).

mod common;

use std::sync::Mutex;

use common::server::{fixture, rid, Server, T1};
use common::webdriver::Browser;
use common::{record, tempdir, write_conversation};
use serde_json::{json, Value};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serve(dir: &std::path::Path) -> Server {
    Server::start(&[dir.to_str().unwrap_or_default()])
}

#[test]
fn every_view_renders_the_recorded_data() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(b) = Browser::start("every_view_renders_the_recorded_data") else {
        return;
    };
    let dir = tempdir();
    fixture(dir.path());
    let s = serve(dir.path());

    b.goto(&s.url);
    assert_eq!(
        b.js("return document.querySelectorAll('tr.call').length"),
        json!(6)
    );
    let first = b.text("#calls tbody tr:first-child");
    assert!(
        first.contains("ask") && first.contains("cancelled"),
        "{first}"
    );
    let failed =
        b.js("return getComputedStyle(document.querySelector('tr.call.failed')).backgroundColor");
    let plain = b.js(
        "return getComputedStyle(document.querySelector('tr.call:not(.failed)')).backgroundColor",
    );
    assert_ne!(failed, plain, "failed calls stand out");
    // The stylesheet and the script are the viewer's own, and loaded.
    assert_eq!(b.js("return document.styleSheets.length"), json!(1));
    b.screenshot("list");

    b.goto(&format!("{}traces/{T1}", s.url));
    let tree = b.text("#trace tbody");
    for name in ["support_agent", "lookup_order", "ask"] {
        assert!(tree.contains(name), "{tree}");
    }
    // The bars are drawn to scale: the agent's spans the whole timeline.
    let widths = b.js(
        "return Array.from(document.querySelectorAll('td.timeline rect')).map(r => Math.round(r.getBoundingClientRect().width))",
    );
    let widths: Vec<i64> = widths
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    assert_eq!(widths.len(), 4, "{widths:?}");
    assert!(
        widths[0] > 4 * widths[1],
        "the agent's bar is the longest: {widths:?}"
    );
    assert!(b.text(".selected-call h1").contains("support_agent"));
    b.screenshot("trace");

    b.goto(&format!("{}calls/{}", s.url, rid(2)));
    let chat = b.text("section.chat");
    for text in [
        "Where is my order A-17?",
        "lookup_order",
        "\"order_id\": \"A-17\"",
        "Your ORDER ships tomorrow.",
    ] {
        assert!(chat.contains(text), "the chat lacks {text}:\n{chat}");
    }
    let facts = b.text("aside.facts");
    assert!(facts.contains("1,024 cached"), "{facts}");
    // The raw JSON is behind a toggle.
    let visible = "return document.getElementById('raw-json').checkVisibility()";
    assert_eq!(b.js(visible), json!(false));
    b.click("details.raw summary");
    assert_eq!(b.js(visible), json!(true));
    assert!(b.text("#raw-json").contains("\"request_id\""));
    b.click("button[data-copy]");
    b.wait_for(
        "return document.querySelector('button[data-copy]').textContent === 'Copied'",
        "the copy button",
    );
    b.screenshot("call");

    b.goto(&format!("{}calls/{}", s.url, rid(4)));
    let error = b.text(".error-box");
    assert!(
        error.contains("rate_limit") && error.contains("Retry: yes"),
        "{error}"
    );
    b.screenshot("call-error");

    b.goto(&format!("{}sessions/s-1", s.url));
    assert_eq!(
        b.js("return document.querySelectorAll('article.turn').length"),
        json!(5)
    );
    assert!(b.text(".totals").contains("5 calls"));
    b.screenshot("session");

    b.goto(&format!("{}stats", s.url));
    assert_eq!(b.text("#fig-calls"), "6");
    assert_eq!(
        b.js("return document.querySelectorAll('figure.chart svg').length"),
        json!(5)
    );
    // Two failed calls, one each in the 09:00 and 11:00 buckets.
    assert_eq!(
        b.js("return document.querySelectorAll('#chart-errors rect.s-errors').length"),
        json!(2)
    );
    let bars = b.js("return document.querySelectorAll('#chart-calls rect.s-calls').length");
    assert!(bars.as_i64().unwrap_or(0) >= 1, "{bars}");
    b.screenshot("stats");
}

#[test]
fn the_keyboard_moves_opens_searches_and_goes_back() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(b) = Browser::start("the_keyboard_moves_opens_searches_and_goes_back") else {
        return;
    };
    let dir = tempdir();
    fixture(dir.path());
    let s = serve(dir.path());
    b.goto(&s.url);
    b.keys("jjj");
    let cursor = b.js("return document.querySelector('tr.cursor').dataset.id");
    assert_eq!(cursor, json!(rid(4)), "j moved three rows down");
    b.keys("k");
    let cursor = b.js("return document.querySelector('tr.cursor').dataset.id");
    assert_eq!(cursor, json!(rid(5)), "k moved one up");
    b.keys("\u{E007}");
    b.wait_for(
        &format!("return location.pathname === '/calls/{}'", rid(5)),
        "Enter to open the call",
    );
    assert!(b.text("h1").contains("summarize"));
    b.keys("\u{E00C}");
    b.wait_for("return location.pathname === '/'", "Esc to go back");
    b.keys("/");
    assert_eq!(b.js("return document.activeElement.id"), json!("search"));
    b.keys("zanzibar\u{E007}");
    b.wait_for("return location.search === '?q=zanzibar'", "the search");
    assert_eq!(
        b.js("return document.querySelectorAll('tr.call').length"),
        json!(1)
    );
    assert!(b.text("#calls tbody").contains("summarize"));
    b.screenshot("search");
}

#[test]
fn recorded_markup_never_runs_in_the_browser() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(b) = Browser::start("recorded_markup_never_runs_in_the_browser") else {
        return;
    };
    let dir = tempdir();
    let evil = "<script>window.__xss = 1</script><img src=x onerror=\"window.__xss = 2\"><svg onload=\"window.__xss = 3\">";
    write_conversation(
        dir.path(),
        &record(json!({
            "request_id": rid(1), "trace_id": T1, "span_id": "a000000000000001", "name": "ask",
            "request_model": evil, "user_id": evil, "session_id": "s-x", "tags": [evil],
            "messages": [{"role": "user", "content": evil}],
            "response": {"text": evil},
            "tool_calls": [{"id": "c1", "name": evil, "arguments": evil}],
            "status": "error", "error": {"message": evil, "type": "unknown"},
        })),
    );
    let s = serve(dir.path());
    for path in [
        String::new(),
        format!("calls/{}", rid(1)),
        format!("traces/{T1}"),
        "sessions/s-x".to_owned(),
        "stats".to_owned(),
        "?q=xss".to_owned(),
    ] {
        b.goto(&format!("{}{path}", s.url));
        // Give an image's error handler time to fire, if it were markup.
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(
            b.js("return window.__xss === undefined"),
            json!(true),
            "/{path} ran recorded markup"
        );
        assert_eq!(
            b.js("return document.querySelectorAll('img, main script, main svg[onload]').length"),
            json!(0),
            "/{path}"
        );
        let text = b.text("main");
        assert!(
            text.contains("<script>window.__xss = 1</script>"),
            "/{path} does not show the text: {text}"
        );
    }
    b.goto(&format!("{}calls/{}", s.url, rid(1)));
    b.screenshot("markup-as-text");
}

#[test]
fn a_call_recorded_after_load_appears_live() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(b) = Browser::start("a_call_recorded_after_load_appears_live") else {
        return;
    };
    let dir = tempdir();
    fixture(dir.path());
    let s = serve(dir.path());
    b.goto(&s.url);
    b.wait_for(
        "return document.getElementById('live-state').textContent === 'live'",
        "the live stream",
    );
    write_conversation(
        dir.path(),
        &record(
            json!({"request_id": rid(8), "name": "late_call", "request_model": "gpt-4o",
                       "started_at": "2026-11-27T12:30:00.000Z"}),
        ),
    );
    b.wait_for(
        &format!(
            "return document.querySelector('#calls tbody tr').dataset.id === '{}'",
            rid(8)
        ),
        "the new call at the top",
    );
    assert!(b.text("#calls tbody tr:first-child").contains("late_call"));
    assert_eq!(b.text("#count"), "7 calls");
    b.screenshot("live");

    // Paused, new calls wait; resumed, they show.
    b.click("#pause");
    write_conversation(
        dir.path(),
        &record(
            json!({"request_id": rid(9), "name": "while_paused", "started_at": "2026-11-27T12:31:00.000Z"}),
        ),
    );
    b.wait_for(
        "return document.getElementById('live-state').textContent === '1 new (paused)'",
        "the held call",
    );
    assert_eq!(
        b.js("return document.querySelectorAll('tr.call').length"),
        json!(7)
    );
    b.click("#pause");
    b.wait_for(
        "return document.querySelectorAll('tr.call').length === 8",
        "the held call shown",
    );
    assert!(b
        .text("#calls tbody tr:first-child")
        .contains("while_paused"));
}

#[test]
fn light_and_dark_follow_the_system() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let background = |b: &Browser| b.js("return getComputedStyle(document.body).backgroundColor");
    let dir = tempdir();
    fixture(dir.path());
    let s = serve(dir.path());
    let Some(light) = Browser::start("light_and_dark_follow_the_system") else {
        return;
    };
    light.goto(&s.url);
    assert_eq!(background(&light), json!("rgb(255, 255, 255)"));
    drop(light);
    let Some(dark) =
        Browser::start_with("light_and_dark_follow_the_system", &["--force-dark-mode"])
    else {
        return;
    };
    dark.goto(&s.url);
    assert_eq!(
        dark.js("return matchMedia('(prefers-color-scheme: dark)').matches"),
        json!(true)
    );
    assert_eq!(background(&dark), json!("rgb(20, 23, 28)"));
    dark.screenshot("list-dark");
    dark.goto(&format!("{}traces/{T1}", s.url));
    dark.screenshot("trace-dark");
}

#[test]
fn the_search_shows_its_progress() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(b) = Browser::start("the_search_shows_its_progress") else {
        return;
    };
    let dir = tempdir();
    let out = common::generator()
        .args(["--records", "20000", "--conversations"])
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    let s = serve(dir.path());
    b.goto(&s.url);
    // The form's submit handler starts showing the progress (the event is
    // dispatched by hand, so the page stays), while a search runs.
    let searching = std::thread::scope(|scope| {
        let search = scope.spawn(|| s.get("/?q=no+such+words+anywhere").status);
        b.js("const f = document.getElementById('filters');
             document.getElementById('search').value = 'no such words anywhere';
             f.dispatchEvent(new Event('submit', {cancelable: true}));
             return true");
        let mut seen = String::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            let text = b.text("#search-progress");
            // While it runs, or (on a machine fast enough to finish between
            // two polls) once it is done.
            if text.contains("% of 20000 calls") || text.contains("searched 20000 calls") {
                seen = text;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(search.join().unwrap_or(0), 200);
        seen
    });
    assert!(
        searching.starts_with("search"),
        "the progress was never shown: {searching:?}"
    );
    b.screenshot("search-progress");
}

#[test]
fn a_calls_scores_render_and_update_live() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(b) = Browser::start("a_calls_scores_render_and_update_live") else {
        return;
    };
    let dir = tempdir();
    fixture(dir.path());
    let conversation = std::fs::read_dir(dir.path())
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(&format!("{}.json", rid(2))))
        .unwrap_or_else(|| panic!("no conversation"));
    let scores = llm_traced_runtime::score::scores_path(&conversation);
    let line = |name: &str, value: &str, comment: &str, at: &str| {
        json!({"type": "score", "name": name, "value": value.parse::<f64>().ok(),
               "comment": comment, "author": "user:42", "scored_at": at, "request_id": rid(2)})
        .to_string()
            + "\n"
    };
    std::fs::write(
        &scores,
        line(
            "helpfulness",
            "0.9",
            "<b>clear</b> answer",
            "2026-11-27T09:05:00.000Z",
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let s = serve(dir.path());

    b.goto(&format!("{}calls/{}", s.url, rid(2)));
    assert_eq!(
        b.js("return document.getElementById('scores').checkVisibility()"),
        json!(true)
    );
    let shown = b.text("#scores");
    for text in ["helpfulness", "0.9", "<b>clear</b> answer", "user:42"] {
        assert!(shown.contains(text), "the scores lack {text}:\n{shown}");
    }
    assert_eq!(
        b.js("return document.querySelectorAll('#scores b').length"),
        json!(0)
    );
    b.screenshot("call-scores");

    // The list's row of a call scored after the page loaded updates live.
    b.goto(&s.url);
    b.wait_for(
        "return document.getElementById('live-state').textContent === 'live'",
        "the live stream",
    );
    let cell = format!("#calls tr[data-id='{}'] td.scores-cell", rid(2));
    assert_eq!(b.text(&cell), "helpfulness=0.9");
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&scores)
        .and_then(|mut f| {
            f.write_all(line("helpfulness", "0.5", "meh", "2026-11-27T09:06:00.000Z").as_bytes())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    b.wait_for(
        &format!("return document.querySelector(\"{cell}\").textContent === 'helpfulness=0.7'"),
        "the updated scores",
    );
    b.screenshot("list-scores");
    assert_eq!(
        b.js("return document.querySelectorAll('tr.call').length"),
        json!(6)
    );
}
