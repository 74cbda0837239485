//! `llm-traced serve`: every route, the filters, the search, the live
//! stream, the stats against `llm-traced stats --json`, and bad input
//! (malformed files, path traversal, foreign Hosts, the access token, markup
//! in recorded text). Each test starts the real binary on a free port.

mod common;

use std::time::Duration;

use common::server::{Events, Server};
use common::{cli, record, stdout, tempdir, write_conversation, write_log};
use serde_json::{json, Value};

use common::server::{fixture, rid, T1};
use llm_traced_runtime::score::{append, scores_path, ScoreLine, ScoreValue};

/// The request ids of the list's rows, in order.
fn rows(body: &str) -> Vec<String> {
    body.split("<tr class=\"call")
        .skip(1)
        .filter_map(|r| r.split("data-id=\"").nth(1))
        .filter_map(|r| r.split('"').next())
        .map(str::to_owned)
        .collect()
}

fn ns(list: &[u32]) -> Vec<String> {
    list.iter().map(|&n| rid(n)).collect()
}

fn serve_fixture() -> (tempfile::TempDir, Server) {
    let dir = tempdir();
    fixture(dir.path());
    let server = Server::start(&[dir.path().to_str().unwrap_or_default()]);
    (dir, server)
}

#[test]
fn the_list_shows_every_call_newest_first_with_what_matters() {
    let (_dir, s) = serve_fixture();
    assert!(s.banner.contains("6 calls indexed"), "{}", s.banner);
    assert!(s.url.starts_with("http://127.0.0.1:"), "{}", s.url);
    let body = s.page("/");
    assert_eq!(rows(&body), ns(&[6, 5, 4, 3, 2, 1]));
    assert!(body.contains("6 calls"));
    // Columns: name, kind, model, tokens, cost, latency, status, trace.
    for text in [
        "support_agent",
        ">agent<",
        "claude-sonnet-4-5",
        "1,230",
        "$0.0035",
        "1.20 s",
        "rate_limit",
        "cancelled",
        "/traces/4bf92f3577b34da6a3ce929d0e0e4736",
    ] {
        assert!(body.contains(text), "the list lacks {text}");
    }
    // Errors stand out.
    let failed = body.matches("<tr class=\"call failed\"").count();
    assert_eq!(failed, 2);
}

#[test]
fn filters_are_in_the_url_and_narrow_the_list() {
    let (_dir, s) = serve_fixture();
    let cases: &[(&str, &[u32])] = &[
        ("model=gpt-4o", &[6, 2]),
        ("model=gpt-4o-2024-08-06", &[2]),
        ("status=failed", &[6, 4]),
        ("status=error", &[4]),
        ("status=ok", &[5, 3, 2, 1]),
        ("error=rate_limit", &[4]),
        ("error=cancelled", &[6]),
        ("function=app%3A%3Atools%3A%3Alookup_order", &[3]),
        ("kind=tool", &[3]),
        ("user=bob", &[5]),
        ("session=s-1", &[6, 4, 3, 2, 1]),
        ("tenant=globex", &[5]),
        ("tag=beta", &[1]),
        ("since=2026-11-27T10%3A00%3A00Z", &[6, 5]),
        ("until=2026-11-27T10%3A00%3A00Z", &[4, 3, 2, 1]),
        ("model=gpt-4o&status=ok", &[2]),
        ("user=nobody", &[]),
    ];
    for (query, expected) in cases {
        let body = s.page(&format!("/?{query}"));
        assert_eq!(rows(&body), ns(expected), "/?{query}");
    }
    // The filter form shows what is set, so that the URL round-trips.
    let body = s.page("/?tenant=globex&user=bob");
    assert!(body.contains("<option selected>globex</option>"));
    assert!(body.contains("name=\"user\" size=\"10\" value=\"bob\""));
    // A bad value is reported, not fatal.
    let body = s.page("/?since=yesterday-ish");
    assert!(body.contains("is not a time"), "{body}");
    assert_eq!(rows(&body).len(), 6);
}

#[test]
fn columns_sort_both_ways() {
    let (_dir, s) = serve_fixture();
    let asc = rows(&s.page("/?sort=latency&order=asc"));
    assert_eq!(asc, ns(&[6, 3, 4, 2, 5, 1]));
    let desc = rows(&s.page("/?sort=latency"));
    assert_eq!(desc, ns(&[1, 5, 2, 4, 3, 6]));
    let tokens = rows(&s.page("/?sort=tokens"));
    assert_eq!(&tokens[..2], &ns(&[2, 5])[..]);
    let oldest = rows(&s.page("/?sort=time&order=asc"));
    assert_eq!(oldest, ns(&[1, 2, 3, 4, 5, 6]));
    let names = rows(&s.page("/?sort=name&order=asc"));
    assert_eq!(names.last(), Some(&rid(1)), "support_agent sorts last");
}

#[test]
fn pages_of_a_hundred() {
    let dir = tempdir();
    for n in 0..130u32 {
        write_conversation(
            dir.path(),
            &record(json!({
                "request_id": rid(1000 + n),
                "started_at": format!("2026-11-27T09:{:02}:{:02}.000Z", n / 60, n % 60),
            })),
        );
    }
    let s = Server::start(&[dir.path().to_str().unwrap_or_default()]);
    let first = s.page("/");
    assert_eq!(rows(&first).len(), 100);
    assert_eq!(rows(&first)[0], rid(1129));
    assert!(first.contains("page 1 of 2"));
    let second = s.page("/?page=2");
    assert_eq!(rows(&second).len(), 30);
    assert_eq!(rows(&second).last(), Some(&rid(1000)));
    // Past the end: the last page.
    assert_eq!(rows(&s.page("/?page=99")).len(), 30);
}

#[test]
fn the_search_reads_prompts_and_responses() {
    let (_dir, s) = serve_fixture();
    assert_eq!(rows(&s.page("/?q=zanzibar")), ns(&[5]));
    // Case-insensitive, in the response.
    assert_eq!(rows(&s.page("/?q=order+ships")), ns(&[2]));
    // In a tool result and a tool call's arguments.
    assert_eq!(rows(&s.page("/?q=packed")), ns(&[2]));
    // Context is not content.
    assert_eq!(rows(&s.page("/?q=alice")), ns(&[]));
    // With a filter.
    assert_eq!(rows(&s.page("/?q=order&status=error")), ns(&[]));
    let progress: Value =
        serde_json::from_str(&s.page("/api/search-progress")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(progress["total"], 6);
    assert_eq!(progress["running"], false);
    assert_eq!(progress["done"], 6);
}

#[test]
fn a_call_reads_as_a_chat_with_its_figures() {
    let (_dir, s) = serve_fixture();
    let body = s.page(&format!("/calls/{}", rid(2)));
    for text in [
        "<div class=\"msg system\"><div class=\"role\">system</div>",
        "You are the support assistant.",
        "Where is my order A-17?",
        "tool call <b>lookup_order</b>",
        // Arguments as formatted JSON.
        "{\n  &quot;order_id&quot;: &quot;A-17&quot;\n}",
        "tool · result of call_1",
        "Your ORDER ships tomorrow.",
        "1,200 in · 30 out · 1,230 total · 1,024 cached · 12 reasoning",
        "$0.0035",
        "1.20 s",
        "first chunk",
        "<dt>first chunk</dt><dd>180 ms</dd>",
        "12 chunks",
        "<dt>finish</dt><dd>stop</dd>",
        "href=\"/sessions/s-1\"",
        "href=\"/?tenant=acme\"",
        "gpt-4o → gpt-4o-2024-08-06",
        "<summary>Raw JSON</summary>",
        "data-copy=\"raw-json\"",
        "&quot;request_id&quot;: &quot;01a21c54-0000-7000-8000-000000000002&quot;",
    ] {
        assert!(body.contains(text), "the call page lacks {text:?}");
    }
    // Context and a refusal.
    let agent = s.page(&format!("/calls/{}", rid(1)));
    assert!(agent.contains("href=\"/?tag=beta\""));
    assert!(agent.contains("No content was recorded for this step."));
    assert!(agent.contains("&quot;plan&quot;: &quot;pro&quot;"));
    let refused = s.page(&format!("/calls/{}", rid(5)));
    assert!(refused.contains("refusal</span> I can&#39;t help with that."));
    assert!(refused.contains("The trip to Zanzibar"));
    assert!(
        refused.contains("<div class=\"role\">system</div><div class=\"text\">Summarise.</div>")
    );
}

#[test]
fn a_failed_call_shows_its_error_diagnosis_and_advice() {
    let (_dir, s) = serve_fixture();
    let body = s.page(&format!("/calls/{}", rid(4)));
    for text in [
        "badge err\">error · rate_limit",
        "error <b>rate_limit</b>",
        "Rate limit reached for gpt-4o-mini",
        "HTTP 429",
        "Diagnosis (from the message): <span class=\"mono\">rate_limit</span>",
        "Retry: yes",
        "Docs: <a href=\"https://",
    ] {
        assert!(body.contains(text), "the error page lacks {text:?}");
    }
}

#[test]
fn a_trace_is_a_tree_beside_a_timeline_to_scale() {
    let (_dir, s) = serve_fixture();
    let body = s.page(&format!("/traces/{T1}"));
    let order: Vec<&str> = body
        .split("<tr class=\"node")
        .skip(1)
        .filter_map(|r| r.split("data-id=\"").nth(1))
        .filter_map(|r| r.split('"').next())
        .collect();
    assert_eq!(order, ns(&[1, 2, 3, 4]));
    // The agent at the top, its three calls one level down.
    assert!(body.contains("<td class=\"tree d0\"><a href=\"/traces/4bf92f3577b34da6a3ce929d0e0e4736?call=01a21c54-0000-7000-8000-000000000001\">support_agent</a>"));
    assert_eq!(body.matches("<td class=\"tree d1\">").count(), 3);
    // Bars to scale: the trace lasts 5 s; the ask starts at 1 s and lasts 1.2 s.
    assert!(body.contains("x=\"0.00\" y=\"2\" width=\"1000.00\""));
    assert!(body.contains("x=\"200.00\" y=\"2\" width=\"240.00\""));
    assert!(body.contains("x=\"460.00\" y=\"2\" width=\"10.00\""));
    assert!(body.contains("class=\"bar-err\" x=\"500.00\""));
    // Totals.
    for text in [
        "<b>4</b> calls",
        "<b>1,230</b> tokens",
        "<b>5.00 s</b> duration",
        "<b>1</b> errors",
    ] {
        assert!(body.contains(text), "the trace lacks {text}");
    }
    // The first node is selected and shown; `?call=` selects another.
    assert!(body.contains("<h1 class=\"call-title\">support_agent"));
    let body = s.page(&format!("/traces/{T1}?call={}", rid(4)));
    assert!(body.contains("<h1 class=\"call-title\">ask"));
    assert!(body.contains("Rate limit reached"));
    // A call of another trace is not selected there.
    let body = s.page(&format!("/traces/{T1}?call={}", rid(5)));
    assert!(body.contains("<h1 class=\"call-title\">support_agent"));
}

#[test]
fn a_session_reads_as_one_conversation_with_totals() {
    let (_dir, s) = serve_fixture();
    let body = s.page("/sessions/s-1");
    let order: Vec<&str> = body
        .split("<article class=\"turn")
        .skip(1)
        .filter_map(|r| r.split("data-id=\"").nth(1))
        .filter_map(|r| r.split('"').next())
        .collect();
    assert_eq!(order, ns(&[1, 2, 3, 4, 6]));
    for text in [
        "<b>5</b> calls",
        "<b>1,230</b> tokens",
        "<b>2</b> errors",
        "user alice",
        "Your ORDER ships tomorrow.",
        "And the invoice?",
    ] {
        assert!(body.contains(text), "the session lacks {text}");
    }
    assert_eq!(s.get("/sessions/nope").status, 404);
}

#[test]
fn stats_show_the_figures_and_charts_for_the_filters() {
    let (_dir, s) = serve_fixture();
    let body = s.page("/stats");
    assert!(body.contains("id=\"fig-calls\">6<"));
    assert!(body.contains("id=\"fig-errors\">2 <small>33.3%</small>"));
    for id in [
        "chart-calls",
        "chart-errors",
        "chart-latency",
        "chart-tokens",
        "chart-cost",
        "by-model",
        "by-function",
        "errors-by-class",
    ] {
        assert!(body.contains(&format!("id=\"{id}\"")), "stats lack {id}");
    }
    assert!(body.contains("<polyline class=\"s-p95\""));
    let body = s.page("/stats?tenant=globex");
    assert!(body.contains("id=\"fig-calls\">1<"));
    let json: Value = serde_json::from_str(&s.page("/stats.json?status=failed"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["records"], 2);
    assert_eq!(json["errors"]["by_type"][0]["type"], "cancelled");
}

/// The figures both reports must agree on (not the inputs' names, nor what
/// each counts as left out).
fn figures(mut v: Value) -> Value {
    if let Value::Object(o) = &mut v {
        for k in ["inputs", "filtered_out", "bad_lines", "bad_line_examples"] {
            o.remove(k);
        }
    }
    v
}

#[test]
fn stats_on_a_log_equal_those_of_the_stats_command() {
    let dir = tempdir();
    let log = dir.path().join("calls.jsonl");
    let log_s = log.to_str().unwrap_or_default();
    let out = common::generator()
        .args(["--records", "5000", "--seed", "9", "--out", log_s])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    let s = Server::start(&[log_s]);
    for (query, args) in [
        ("", vec![]),
        ("tenant=acme", vec!["--tenant", "acme"]),
        (
            "since=2026-11-02&until=2026-11-05T12%3A00%3A00Z&tenant=globex",
            vec![
                "--since",
                "2026-11-02",
                "--until",
                "2026-11-05T12:00:00Z",
                "--tenant",
                "globex",
            ],
        ),
        (
            "by=hour&since=2026-11-03&until=2026-11-04",
            vec![
                "--by",
                "hour",
                "--since",
                "2026-11-03",
                "--until",
                "2026-11-04",
            ],
        ),
        ("by=day", vec!["--by", "day"]),
    ] {
        let viewer: Value = serde_json::from_str(&s.page(&format!("/stats.json?{query}")))
            .unwrap_or_else(|e| panic!("{e}"));
        let out = cli()
            .arg("stats")
            .arg(&log)
            .arg("--json")
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let command: Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}"));
        assert!(command["records"].as_u64().unwrap_or(0) > 0, "{query}");
        assert_eq!(figures(viewer), figures(command), "/stats.json?{query}");
    }
}

#[test]
fn a_call_in_both_a_file_and_the_log_shows_once_from_the_file() {
    let dir = tempdir();
    fixture(dir.path());
    let log = dir.path().join("calls.jsonl");
    // The log holds call 2 without content, and call 7 only it knows.
    let two = record(
        json!({"request_id": rid(2), "name": "ask", "started_at": "2026-11-27T09:00:01.000Z",
                            "request_model": "gpt-4o", "latency_ms": 1200.0}),
    );
    let seven = record(
        json!({"request_id": rid(7), "name": "from_log", "started_at": "2026-11-27T12:00:00.000Z",
                              "request_model": "gpt-4o", "latency_ms": 99.0,
                              "usage": {"input_tokens": 5, "output_tokens": 6}}),
    );
    write_log(&log, &[two, seven]);
    let s = Server::start(&[dir.path().to_str().unwrap_or_default()]);
    let body = s.page("/");
    assert_eq!(rows(&body), ns(&[7, 6, 5, 4, 3, 2, 1]));
    assert!(s
        .page(&format!("/calls/{}", rid(2)))
        .contains("Where is my order A-17?"));
    let log_only = s.page(&format!("/calls/{}", rid(7)));
    assert!(log_only.contains("Known from the log only"));
    assert!(log_only.contains("5 in · 6 out · 11 total"));
    assert!(log_only.contains("calls.jsonl (log)"));
}

#[test]
fn new_calls_arrive_live_and_after_a_reload() {
    let dir = tempdir();
    fixture(dir.path());
    let s = Server::start(&[dir.path().to_str().unwrap_or_default()]);
    let mut all = Events::open(&s, "/events");
    let mut mini = Events::open(&s, "/events?model=gpt-4o-mini");
    std::thread::sleep(Duration::from_millis(300));
    write_conversation(
        dir.path(),
        &record(
            json!({"request_id": rid(8), "name": "late_call", "request_model": "gpt-4o",
                       "started_at": "2026-11-27T12:30:00.000Z"}),
        ),
    );
    let rows_seen = all.collect("call", Duration::from_secs(5));
    assert_eq!(rows_seen.len(), 1, "{rows_seen:?}");
    assert!(rows_seen[0].starts_with("<tr class=\"call\""));
    assert!(rows_seen[0].contains(&rid(8)));
    assert!(rows_seen[0].contains("late_call"));
    // The filtered stream does not get a call that does not pass.
    assert!(mini.collect("call", Duration::from_millis(500)).is_empty());
    // A reload shows it too.
    assert_eq!(rows(&s.page("/"))[0], rid(8));
}

#[test]
fn lines_appended_to_a_log_arrive_live() {
    let dir = tempdir();
    let log = dir.path().join("calls.jsonl");
    write_log(&log, &[record(json!({"request_id": rid(1)}))]);
    let s = Server::start(&[log.to_str().unwrap_or_default()]);
    let mut events = Events::open(&s, "/events");
    std::thread::sleep(Duration::from_millis(300));
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap_or_else(|e| panic!("{e}"));
    let line = common::log_line(&record(json!({"request_id": rid(2), "name": "appended"})));
    // Half a line is not read until it is whole.
    let (a, b) = line.split_at(20);
    f.write_all(a.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    f.flush().unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(400));
    f.write_all(b.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let seen = events.collect("call", Duration::from_secs(5));
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("appended"));
    let body = s.page("/");
    assert_eq!(rows(&body), ns(&[2, 1]));
    assert!(!body.contains("skipped"), "half a line is not a bad line");
}

#[test]
fn bad_files_are_skipped_with_their_reason_and_never_stop_the_server() {
    let dir = tempdir();
    let d = dir.path();
    write_conversation(d, &record(json!({"request_id": rid(1)})));
    std::fs::write(d.join("broken.json"), "{\"schema\": 1, \"request_id\": ").unwrap_or_default();
    std::fs::write(d.join("other.json"), "{\"hello\": 1}").unwrap_or_default();
    std::fs::write(d.join("future.json"), r#"{"schema": 2, "request_id": "x", "name": "a", "function": "f", "started_at": "2026-11-27T09:00:00Z", "latency_ms": 1, "status": "ok"}"#).unwrap_or_default();
    std::fs::write(d.join("garbage.json"), [0u8, 159, 146, 150, 255, 0, 1]).unwrap_or_default();
    std::fs::write(d.join("empty.json"), "").unwrap_or_default();
    std::fs::create_dir(d.join("a-directory.json")).unwrap_or_default();
    let log = d.join("calls.jsonl");
    let good = common::log_line(&record(json!({"request_id": rid(2)})));
    std::fs::write(&log, format!("{good}not json at all\n\n{{\"schema\":1}}\n"))
        .unwrap_or_default();
    let s = Server::start(&[d.to_str().unwrap_or_default()]);
    assert!(s.banner.contains("2 calls indexed"), "{}", s.banner);
    assert!(s.banner.contains("8 input(s) skipped"), "{}", s.banner);
    let body = s.page("/");
    assert_eq!(rows(&body), ns(&[2, 1]));
    assert!(body.contains(">8 skipped</a>"));
    let skipped = s.page("/skipped");
    for text in [
        "broken.json</td><td>not valid JSON",
        "other.json</td><td>not an llm-traced record",
        "future.json</td><td>record schema version 2 is not supported",
        "garbage.json</td><td>not valid JSON",
        "empty.json</td><td>not valid JSON",
        "a-directory.json</td><td>cannot read the file",
        "calls.jsonl:2</td><td>not valid JSON",
        "calls.jsonl:4</td><td>not an llm-traced record",
    ] {
        assert!(
            skipped.contains(text),
            "/skipped lacks {text:?}:\n{skipped}"
        );
    }
    // Still serving; every page says how many were skipped.
    assert_eq!(s.get("/stats").status, 200);
    let missing = s.get("/calls/unknown");
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains(">8 skipped</a>"));
}

#[test]
fn ids_in_urls_never_reach_the_file_system() {
    let (dir, s) = serve_fixture();
    // A secret next to the inputs, and a file name the index knows.
    std::fs::write(dir.path().join("secret.txt"), "TOP-SECRET").unwrap_or_default();
    let known = std::fs::read_dir(dir.path())
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".json"))
        .unwrap_or_default();
    for path in [
        "/calls/..%2F..%2F..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/calls/../../../../etc/passwd".to_owned(),
        "/calls/%2e%2e%2fsecret.txt".to_owned(),
        "/calls/..%5csecret.txt".to_owned(),
        "/calls/%2Fetc%2Fpasswd".to_owned(),
        format!("/calls/{known}"),
        "/traces/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/sessions/%2e%2e%2f%2e%2e%2fetc%2fpasswd".to_owned(),
        "/assets/..%2F..%2FCargo.toml".to_owned(),
        "/assets/../../Cargo.toml".to_owned(),
        "/../../etc/passwd".to_owned(),
        "/secret.txt".to_owned(),
        "/%2e%2e/secret.txt".to_owned(),
    ] {
        let r = s.get(&path);
        assert!(r.status == 404 || r.status == 400, "{path}: {}", r.status);
        for leaked in ["root:", "TOP-SECRET", "[package]", "\"messages\""] {
            assert!(!r.body.contains(leaked), "{path} leaked {leaked}");
        }
    }
}

#[test]
fn foreign_hosts_are_refused() {
    let (_dir, s) = serve_fixture();
    let port = s.port();
    let ok = |host: &str| s.request("/", &[("Host", host)]).status;
    assert_eq!(ok(&format!("127.0.0.1:{port}")), 200);
    assert_eq!(ok(&format!("localhost:{port}")), 200);
    assert_eq!(ok(&format!("[::1]:{port}")), 200);
    assert_eq!(ok(&format!("evil.example:{port}")), 403);
    assert_eq!(ok(&format!("localhost.evil.example:{port}")), 403);
    assert_eq!(ok(&format!("localhost:{}", port.wrapping_add(1))), 403);
    assert_eq!(ok("localhost"), 403);
    assert_eq!(s.request("/", &[]).status, 403, "no Host at all");
    let r = s.request("/stats.json", &[("Host", &format!("evil.example:{port}"))]);
    assert!(!r.body.contains("records"));

    let dir = tempdir();
    fixture(dir.path());
    let named = Server::start(&[
        dir.path().to_str().unwrap_or_default(),
        "--allow-host",
        "devbox",
    ]);
    let port = named.port();
    assert_eq!(
        named
            .request("/", &[("Host", &format!("devbox:{port}"))])
            .status,
        200
    );
    assert_eq!(
        named
            .request("/", &[("Host", &format!("other:{port}"))])
            .status,
        403
    );
}

#[test]
fn beyond_loopback_the_token_is_required_and_a_warning_printed() {
    let dir = tempdir();
    fixture(dir.path());
    let s = Server::start(&[dir.path().to_str().unwrap_or_default(), "--bind", "0.0.0.0"]);
    assert!(s.banner.contains("WARNING"), "{}", s.banner);
    assert!(
        s.banner.contains("reachable from the network"),
        "{}",
        s.banner
    );
    let token = s.url.split("token=").nth(1).unwrap_or_default().to_owned();
    assert_eq!(token.len(), 32, "{}", s.url);
    assert_eq!(s.get("/").status, 401);
    assert_eq!(s.get("/calls/x?token=wrong").status, 401);
    assert_eq!(s.get("/stats.json").status, 401);
    let r = s.get(&format!("/?token={token}"));
    assert_eq!(r.status, 200);
    let cookie = r.header("set-cookie").unwrap_or_default().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap_or_default();
    let host = s.addr.clone();
    assert_eq!(
        s.request("/stats", &[("Host", &host), ("Cookie", pair)])
            .status,
        200
    );
    assert!(
        pair.starts_with(&format!("llm_traced_token_{}=", s.port())),
        "{pair}"
    );
    let wrong = format!("llm_traced_token_{}=nope", s.port());
    assert_eq!(
        s.request("/stats", &[("Host", &host), ("Cookie", &wrong)])
            .status,
        401
    );
    // On loopback there is no token.
    let (_d, local) = serve_fixture();
    assert!(!local.url.contains("token"));
    assert!(!local.banner.contains("WARNING"));
}

#[test]
fn recorded_markup_is_shown_as_text() {
    let dir = tempdir();
    let evil = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'><svg onload=alert(3)>";
    write_conversation(
        dir.path(),
        &record(json!({
            "request_id": rid(1), "trace_id": T1, "span_id": "a000000000000001",
            "name": "ask", "function": evil, "request_model": evil, "user_id": evil, "session_id": evil,
            "tenant_id": evil, "tags": [evil], "metadata": {"k": evil},
            "messages": [{"role": evil, "content": evil, "name": evil},
                         {"role": "assistant", "tool_calls": [{"id": evil, "function": {"name": evil, "arguments": format!("{{\"q\": \"{}\"}}", evil.replace('"', "\\\""))}}]}],
            "response": {"text": evil, "refusal": evil},
            "tool_calls": [{"id": evil, "name": evil, "arguments": evil}],
            "status": "error", "error": {"message": evil, "type": evil, "code": evil,
                "diagnosis": {"class": "unknown", "message": evil, "summary": evil, "suggestions": [evil],
                              "docs": ["javascript:alert(4)"], "retryable": false}},
        })),
    );
    let s = Server::start(&[dir.path().to_str().unwrap_or_default()]);
    let session = html_seg(evil);
    for path in [
        "/".to_owned(),
        format!("/calls/{}", rid(1)),
        format!("/traces/{T1}"),
        format!("/sessions/{session}"),
        "/stats".to_owned(),
        "/?q=script".to_owned(),
        format!("/?model={session}&user={session}"),
    ] {
        let r = s.get(&path);
        assert_eq!(r.status, 200, "{path}");
        for bad in [
            "<script>alert",
            "<img src=x",
            "<svg onload",
            "href=\"javascript:",
        ] {
            assert!(!r.body.contains(bad), "{path} renders {bad}");
        }
        assert!(
            r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
    }
}

fn html_seg(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[test]
fn export_gives_the_filtered_records_as_json_lines() {
    let (_dir, s) = serve_fixture();
    let r = s.get("/export?model=gpt-4o");
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap_or_default()
        .contains("ndjson"));
    let ids: Vec<String> = r
        .body
        .lines()
        .map(|l| {
            llm_traced_runtime::record::CallRecord::from_json(l)
                .unwrap_or_else(|e| panic!("{e}: {l}"))
                .request_id
        })
        .collect();
    assert_eq!(ids, ns(&[6, 2]));
    assert_eq!(s.get("/export").body.lines().count(), 6);
    assert_eq!(s.get("/export?q=zanzibar").body.lines().count(), 1);
}

#[test]
fn unknown_pages_and_ids_are_404_pages() {
    let (_dir, s) = serve_fixture();
    for path in [
        "/nope",
        "/calls/unknown",
        "/traces/0000",
        "/sessions/none",
        "/calls/",
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 404, "{path}");
        assert!(r.body.contains("Not found"), "{path}");
    }
    let css = s.get("/assets/app.css");
    assert_eq!(css.status, 200);
    assert!(css
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/css"));
    assert!(css.body.contains("prefers-color-scheme: dark"));
    let js = s.get("/assets/app.js");
    assert!(js.body.contains("EventSource"));
}

#[test]
fn inputs_default_to_the_conversations_dir_and_the_log_file() {
    let dir = tempdir();
    let conversations = dir.path().join("llm_conversations");
    std::fs::create_dir(&conversations).unwrap_or_default();
    write_conversation(&conversations, &record(json!({"request_id": rid(1)})));
    write_log(
        &dir.path().join("calls.jsonl"),
        &[record(json!({"request_id": rid(2)}))],
    );
    let s = Server::start_in(&[], Some(dir.path()), &[("LLM_LOG_FILE", "calls.jsonl")]);
    assert_eq!(rows(&s.page("/")), ns(&[2, 1]));
    // No inputs yet is fine: the viewer waits for them.
    let empty = tempdir();
    let s = Server::start_in(&[], Some(empty.path()), &[]);
    assert!(s.page("/").contains("Nothing is recorded yet"));
}

#[test]
fn a_tenant_template_and_rotated_files() {
    let dir = tempdir();
    let d = dir.path();
    write_log(
        &d.join("acme.jsonl"),
        &[record(json!({"request_id": rid(1), "tenant_id": "acme"}))],
    );
    write_log(
        &d.join("globex.jsonl"),
        &[record(json!({"request_id": rid(2), "tenant_id": "globex"}))],
    );
    write_log(
        &d.join("acme.20261127T091500123.jsonl"),
        &[record(json!({"request_id": rid(3), "tenant_id": "acme"}))],
    );
    std::fs::write(d.join("unrelated.txt"), "x").unwrap_or_default();
    let template = d.join("{tenant}.jsonl");
    let template = template.to_str().unwrap_or_default();
    let s = Server::start(&[template]);
    let mut got = rows(&s.page("/"));
    got.sort();
    assert_eq!(got, ns(&[1, 2]));
    let s = Server::start(&[template, "--rotated"]);
    let mut got = rows(&s.page("/"));
    got.sort();
    assert_eq!(got, ns(&[1, 2, 3]));
}

#[test]
fn a_missing_input_is_a_clear_error() {
    let out = cli()
        .args(["serve", "/no/such/dir", "--port", "0"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(3));
    let err = common::stderr(&out);
    assert!(err.contains("cannot read /no/such/dir"), "{err}");
    // A port in use.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = taken
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_default()
        .to_string();
    let empty = tempdir();
    let out = cli()
        .args([
            "serve",
            empty.path().to_str().unwrap_or_default(),
            "--port",
            &port,
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(3));
    let err = common::stderr(&out);
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
    let out = cli()
        .args(["serve", "--bind", "not-an-address"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn open_starts_the_browser_with_the_url() {
    // A stand-in for xdg-open that writes down what it was asked to open.
    let bin = tempdir();
    let opened = bin.path().join("opened.txt");
    let script = bin.path().join("xdg-open");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1\" > {}\n", opened.display()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let dir = tempdir();
    fixture(dir.path());
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let s = Server::start_in(
        &[dir.path().to_str().unwrap_or_default(), "--open"],
        None,
        &[("PATH", &path)],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    // The shell creates the file before it writes the line: wait for the line.
    let mut got = String::new();
    while !got.ends_with('\n') && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        got = std::fs::read_to_string(&opened).unwrap_or_default();
    }
    assert_eq!(got.trim(), s.url);
}

#[test]
fn ctrl_c_stops_the_viewer_even_with_a_live_page_open() {
    let (_dir, mut s) = serve_fixture();
    let _events = Events::open(&s, "/events");
    let status = std::process::Command::new("kill")
        .args(["-INT", &s.pid().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    let code = s.wait(Duration::from_secs(10));
    assert_eq!(code, Some(0), "serve did not stop cleanly on SIGINT");
}

#[test]
fn a_file_gone_after_start_up_shows_what_the_index_holds() {
    let (dir, s) = serve_fixture();
    for f in std::fs::read_dir(dir.path())
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        if f.file_name().to_string_lossy().contains(&rid(2)) {
            std::fs::remove_file(f.path()).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let body = s.page(&format!("/calls/{}", rid(2)));
    assert!(
        body.contains("The record could not be read: cannot read"),
        "{body}"
    );
    assert!(body.contains("app::llm::ask"));
    // The trace and the session still show, with the call's problem.
    assert!(s
        .page(&format!("/traces/{T1}?call={}", rid(2)))
        .contains("could not be read"));
    assert!(s.page("/sessions/s-1").contains("cannot read"));
    assert_eq!(s.get("/export").body.lines().count(), 5);
}

#[test]
fn a_log_rotated_while_serving_keeps_every_call_readable() {
    let dir = tempdir();
    let log = dir.path().join("calls.jsonl");
    let with_prompt = |n: u32, prompt: &str| {
        record(
            json!({"request_id": rid(n), "started_at": format!("2026-11-27T09:00:0{n}.000Z"),
                      "messages": [{"role": "user", "content": prompt}]}),
        )
    };
    write_log(&log, &[with_prompt(1, "first prompt")]);
    let s = Server::start(&[log.to_str().unwrap_or_default()]);
    let mut events = Events::open(&s, "/events");
    std::thread::sleep(Duration::from_millis(300));
    std::fs::rename(&log, dir.path().join("calls.20261127T091500123.jsonl"))
        .unwrap_or_else(|e| panic!("{e}"));
    write_log(&log, &[with_prompt(2, "second prompt")]);
    assert_eq!(events.collect("call", Duration::from_secs(5)).len(), 1);
    assert_eq!(rows(&s.page("/")), ns(&[2, 1]));
    assert!(s
        .page(&format!("/calls/{}", rid(1)))
        .contains("first prompt"));
    assert!(s
        .page(&format!("/calls/{}", rid(2)))
        .contains("second prompt"));
}

#[cfg(unix)]
#[test]
fn links_to_files_outside_the_inputs_are_not_read() {
    let outside = tempdir();
    let secret = outside.path().join("secret.json");
    write_conversation(
        outside.path(),
        &record(json!({"request_id": rid(9), "name": "secret_call"})),
    );
    let secret_file = std::fs::read_dir(outside.path())
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .next()
        .unwrap_or(secret);
    let dir = tempdir();
    fixture(dir.path());
    std::os::unix::fs::symlink(&secret_file, dir.path().join("link.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(&secret_file, dir.path().join("link.jsonl"))
        .unwrap_or_else(|e| panic!("{e}"));
    // A link that stays inside is fine.
    let inside = std::fs::read_dir(dir.path())
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains(&rid(1)))
        .unwrap_or_default();
    std::os::unix::fs::symlink(&inside, dir.path().join("same.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let s = Server::start(&[dir.path().to_str().unwrap_or_default()]);
    let body = s.page("/");
    assert_eq!(rows(&body).len(), 6);
    assert!(!body.contains("secret_call"));
    let skipped = s.page("/skipped");
    assert!(
        skipped.contains("link.json</td><td>a link to a file outside the directory"),
        "{skipped}"
    );
    assert!(
        skipped.contains("link.jsonl</td><td>a link to a file outside the directory"),
        "{skipped}"
    );
    assert_eq!(s.get(&format!("/calls/{}", rid(9))).status, 404);
}

#[test]
fn generated_conversations_are_records_with_content_and_trees() {
    let dir = tempdir();
    let out = common::generator()
        .args(["--records", "300", "--seed", "3", "--conversations"])
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", common::stderr(&out));
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 300);
    let mut children = 0;
    for f in &files {
        let r = llm_traced_runtime::read_conversation(f).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.messages.is_some());
        children += usize::from(r.parent_span_id.is_some());
    }
    assert!(
        children > 50,
        "later calls of a trace are children: {children}"
    );
    let s = Server::start(&[dir.path().to_str().unwrap_or_default()]);
    assert!(s.banner.contains("300 calls indexed"), "{}", s.banner);
    assert!(!s.page("/").contains("skipped"));
    // Both outputs at once is a usage error.
    let out = common::generator()
        .args(["--records", "1", "--out", "x.jsonl", "--conversations", "y"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn default_inputs_that_do_not_exist_yet_are_waited_for() {
    let dir = tempdir();
    let s = Server::start_in(&[], Some(dir.path()), &[("LLM_LOG_FILE", "app.log")]);
    assert!(s.page("/").contains("Nothing is recorded yet"));
    let mut events = Events::open(&s, "/events");
    std::thread::sleep(Duration::from_millis(300));
    write_log(
        &dir.path().join("app.log"),
        &[record(json!({"request_id": rid(1), "name": "from_log"}))],
    );
    let conversations = dir.path().join("llm_conversations");
    std::fs::create_dir(&conversations).unwrap_or_else(|e| panic!("{e}"));
    write_conversation(
        &conversations,
        &record(json!({"request_id": rid(2), "name": "from_file"})),
    );
    let seen = events.collect("call", Duration::from_secs(3));
    assert_eq!(seen.len(), 2, "{seen:?}");
    let body = s.page("/");
    assert!(body.contains("from_log") && body.contains("from_file"));
}

#[test]
fn export_offers_the_export_commands_formats() {
    let (_dir, s) = serve_fixture();
    // The list page links every format, carrying the current filter.
    let page = s.get("/?model=gpt-4o").body;
    for format in ["chat-jsonl", "promptfoo", "openai-evals", "langfuse", "csv"] {
        assert!(
            page.contains(&format!("format={format}")),
            "{format} is offered"
        );
    }
    let chat = s.get("/export?model=gpt-4o&format=chat-jsonl");
    assert_eq!(chat.status, 200);
    for line in chat.body.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let messages = v["messages"].as_array().expect("messages");
        assert!(!messages.is_empty(), "{v}");
    }
    let csv = s.get("/export?format=csv");
    assert_eq!(csv.status, 200);
    assert!(csv
        .header("content-type")
        .unwrap_or_default()
        .contains("text/csv"));
    let mut rows = csv.body.lines();
    assert!(rows.next().unwrap_or_default().starts_with("request_id"));
    assert_eq!(rows.count(), 6, "one row per call, failed ones too");
    let bad = s.get("/export?format=yaml");
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("unknown export format"), "{}", bad.body);
}

// Scores: the `.scores.jsonl` file beside a conversation, and the score
// lines of a log.

/// A score line as the runtime writes it.
fn score(request_id: &str, name: &str, value: &str, at: &str) -> ScoreLine {
    let value = ScoreValue::parse(value);
    ScoreLine {
        kind: "score".to_owned(),
        name: name.to_owned(),
        value: value.number(),
        label: value.label(),
        comment: None,
        author: None,
        scored_at: at.parse().unwrap_or_else(|e| panic!("{at}: {e}")),
        request_id: request_id.to_owned(),
        trace_id: None,
        span_id: None,
        function: None,
        model: None,
        response_id: None,
        tenant_id: None,
    }
}

/// Appends a score beside the fixture's call `n` in `dir`.
fn add_score(dir: &std::path::Path, n: u32, line: &ScoreLine) -> std::path::PathBuf {
    let conversation = conversation_of(dir, n);
    let path = scores_path(&conversation);
    append(&path, line).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn conversation_of(dir: &std::path::Path, n: u32) -> std::path::PathBuf {
    let id = rid(n);
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(&format!("{id}.json")))
        .unwrap_or_else(|| panic!("no conversation {id}"))
}

/// The list row of a call.
fn row_of(body: &str, request_id: &str) -> String {
    body.split("<tr class=\"call")
        .find(|r| r.contains(&format!("data-id=\"{request_id}\"")))
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_else(|| panic!("no row {request_id}"))
        .to_owned()
}

/// Fetches `path` until `check` holds (the viewer polls every 100 ms).
fn eventually(s: &Server, path: &str, check: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let body = s.page(path);
        if check(&body) || std::time::Instant::now() > deadline {
            return body;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_calls_scores_show_on_its_page_in_the_list_the_trace_and_the_session() {
    let dir = tempdir();
    fixture(dir.path());
    let mut helpful = score(&rid(2), "helpfulness", "0.9", "2026-11-27T09:05:00Z");
    helpful.comment = Some("clear answer".to_owned());
    helpful.author = Some("user:42".to_owned());
    add_score(dir.path(), 2, &helpful);
    let verdict = score(&rid(2), "verdict", "correct", "2026-11-27T09:04:00Z");
    add_score(dir.path(), 2, &verdict);
    add_score(
        dir.path(),
        5,
        &score(&rid(5), "thumbs_up", "false", "2026-11-27T10:01:00Z"),
    );
    // A program that also writes a log writes each score there too.
    let mut log_line = serde_json::to_string(&helpful).unwrap_or_default();
    log_line.push('\n');
    std::fs::write(dir.path().join("calls.jsonl"), log_line).unwrap_or_else(|e| panic!("{e}"));
    let s = Server::start(&[dir.path().to_str().unwrap_or_default()]);
    // The scores files are not taken for logs of bad lines.
    assert!(s.banner.contains("6 calls indexed"), "{}", s.banner);
    assert!(!s.banner.contains("skipped"), "{}", s.banner);

    let page = s.page(&format!("/calls/{}", rid(2)));
    let section = page
        .split("id=\"scores\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no scores on the call page: {page}"));
    let section = section.split("</section>").next().unwrap_or_default();
    // Oldest first: the label, then the number with its comment and author.
    let label_at = section.find("verdict").unwrap_or(usize::MAX);
    let number_at = section.find("helpfulness").unwrap_or(0);
    assert!(label_at < number_at, "{section}");
    // Each score once, though both the file and the log hold the number.
    assert_eq!(
        section.matches("<tr class=\"score\">").count(),
        2,
        "{section}"
    );
    for text in [
        ">correct<",
        ">0.9<",
        ">clear answer<",
        ">user:42<",
        "2026-11-27 09:05:00",
        "2026-11-27 09:04:00",
    ] {
        assert!(section.contains(text), "the scores lack {text}: {section}");
    }
    // And in brief beside the call's figures, linking to them.
    assert!(page.contains(
        "<dt>scores</dt><dd><a href=\"#scores\">helpfulness=0.9 verdict=correct</a></dd>"
    ));
    // Yes/no reads as such.
    let five = s.page(&format!("/calls/{}", rid(5)));
    assert!(five.contains("<td>thumbs_up</td><td class=\"score-value\">no</td>"));
    // A call without scores has no section.
    assert!(!s
        .page(&format!("/calls/{}", rid(3)))
        .contains("id=\"scores\""));

    let list = s.page("/");
    assert!(list.contains(">Scores</th>"), "no scores column");
    assert!(row_of(&list, &rid(2)).contains(">helpfulness=0.9 verdict=correct</td>"));
    assert!(row_of(&list, &rid(5)).contains(">thumbs_up=0</td>"));
    assert!(row_of(&list, &rid(3)).contains("<td class=\"scores-cell\"></td>"));
    // The live stream of a list with a scores column sends rows with one.
    assert!(list.contains("data-live=\"/events?scores=1\""), "{list}");
    // A list where no call has scores has no such column.
    let unscored = s.page("/?user=alice&status=failed");
    assert_eq!(rows(&unscored), ns(&[6, 4]));
    assert!(!unscored.contains(">Scores</th>"));

    let trace = s.page(&format!("/traces/{T1}"));
    assert!(
        trace.contains(">helpfulness=0.9 verdict=correct</span>"),
        "{trace}"
    );
    // The selected call's details carry its scores.
    let selected = s.page(&format!("/traces/{T1}?call={}", rid(2)));
    assert!(selected.contains(">clear answer<"));
    let session = s.page("/sessions/s-1");
    assert!(session.contains(">helpfulness=0.9 verdict=correct</span>"));
}

#[test]
fn scores_written_after_start_up_show_on_the_next_request_and_arrive_live() {
    let dir = tempdir();
    fixture(dir.path());
    let s = Server::start(&[dir.path().to_str().unwrap_or_default()]);
    let call = format!("/calls/{}", rid(2));
    assert!(!s.page(&call).contains("id=\"scores\""));
    assert!(!s.page("/").contains(">Scores</th>"));
    let mut events = Events::open(&s, "/events?scores=1");
    std::thread::sleep(Duration::from_millis(300));

    add_score(
        dir.path(),
        2,
        &score(&rid(2), "helpfulness", "0.5", "2026-11-27T09:05:00Z"),
    );
    // The call page reads the file again at once.
    assert!(s.page(&call).contains(">helpfulness<"));
    // The list once the viewer has polled.
    let list = eventually(&s, "/", |b| b.contains(">Scores</th>"));
    assert!(
        row_of(&list, &rid(2)).contains(">helpfulness=0.5</td>"),
        "{list}"
    );
    // An open list gets the call's row again, with its scores.
    let updated = events.collect("scores", Duration::from_secs(2));
    assert_eq!(updated.len(), 1, "{updated:?}");
    assert!(updated[0].contains(&rid(2)) && updated[0].contains(">helpfulness=0.5</td>"));
    assert!(events
        .collect("call", Duration::from_millis(300))
        .is_empty());

    // A file that changes is read again.
    add_score(
        dir.path(),
        2,
        &score(&rid(2), "helpfulness", "1", "2026-11-27T09:06:00Z"),
    );
    let list = eventually(&s, "/", |b| b.contains(">helpfulness=0.75</td>"));
    assert!(
        row_of(&list, &rid(2)).contains(">helpfulness=0.75</td>"),
        "{list}"
    );
    let stats = eventually(&s, "/stats", |b| b.contains("id=\"scores\""));
    assert!(stats.contains("<td>helpfulness</td><td>gpt-4o</td><td class=\"num\">2</td><td class=\"num\">0.750</td>"), "{stats}");
    // And one that is gone takes its scores with it.
    std::fs::remove_file(scores_path(&conversation_of(dir.path(), 2)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!s.page(&call).contains("id=\"scores\""));
    let list = eventually(&s, "/", |b| !b.contains(">Scores</th>"));
    assert!(!list.contains(">Scores</th>"));
}

#[test]
fn a_malformed_score_line_is_skipped_and_the_rest_shown() {
    let dir = tempdir();
    fixture(dir.path());
    let path = add_score(
        dir.path(),
        2,
        &score(&rid(2), "first", "1", "2026-11-27T09:05:00Z"),
    );
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{e}"));
        f.write_all(b"not json at all\n{\"type\":\"score\",\"name\":\"half\n{\"type\":\"call\"}\n")
            .unwrap_or_else(|e| panic!("{e}"));
    }
    append(
        &path,
        &score(&rid(2), "second", "good", "2026-11-27T09:06:00Z"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let s = Server::start(&[dir.path().to_str().unwrap_or_default()]);
    let r = s.get(&format!("/calls/{}", rid(2)));
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<td>first</td>") && r.body.contains("<td>second</td>"));
    assert!(!r.body.contains("half"));
    let list = s.get("/");
    assert_eq!(list.status, 200);
    assert!(row_of(&list.body, &rid(2)).contains(">first=1 second=good</td>"));
    assert_eq!(s.get("/stats").status, 200);
    assert_eq!(s.get(&format!("/traces/{T1}")).status, 200);
}

#[test]
fn score_text_is_shown_as_text() {
    let dir = tempdir();
    fixture(dir.path());
    let evil = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let mut line = score(&rid(2), evil, evil, "2026-11-27T09:05:00Z");
    line.comment = Some(evil.to_owned());
    line.author = Some(evil.to_owned());
    line.model = Some(evil.to_owned());
    add_score(dir.path(), 2, &line);
    let s = Server::start(&[dir.path().to_str().unwrap_or_default()]);
    for path in [
        format!("/calls/{}", rid(2)),
        "/".to_owned(),
        format!("/traces/{T1}"),
        "/sessions/s-1".to_owned(),
        "/stats".to_owned(),
    ] {
        let r = s.get(&path);
        assert_eq!(r.status, 200, "{path}");
        assert!(!r.body.contains("<script>alert"), "{path}");
        assert!(!r.body.contains("<img src=x"), "{path}");
        assert!(
            r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
    }
    // On the call page, the comment itself.
    let page = s.page(&format!("/calls/{}", rid(2)));
    let section = page.split("id=\"scores\"").nth(1).unwrap_or_default();
    let section = section.split("</section>").next().unwrap_or_default();
    assert_eq!(
        section
            .matches("&lt;script&gt;alert(1)&lt;/script&gt;")
            .count(),
        4,
        "name, value, comment and author: {section}"
    );
}

#[test]
fn stats_show_score_means_as_the_stats_command_does() {
    let dir = tempdir();
    let log = dir.path().join("calls.jsonl");
    let calls = [
        (1, "gpt-4o", "09:00"),
        (2, "gpt-4o", "09:01"),
        (3, "claude-sonnet-4-5", "09:02"),
    ]
    .map(|(n, model, at)| {
        record(json!({"request_id": rid(n), "request_model": model,
                      "started_at": format!("2026-11-27T{at}:00.000Z")}))
    });
    let mut text: String = calls.iter().map(common::log_line).collect();
    for (n, model, name, value) in [
        (1, "gpt-4o", "helpfulness", "0.9"),
        (2, "gpt-4o", "helpfulness", "0.5"),
        (3, "claude-sonnet-4-5", "helpfulness", "1"),
        (1, "gpt-4o", "thumbs_up", "true"),
        (2, "gpt-4o", "verdict", "off-topic"),
    ] {
        let mut line = score(&rid(n), name, value, "2026-11-27T09:30:00Z");
        line.model = Some(model.to_owned());
        text.push_str(&serde_json::to_string(&line).unwrap_or_default());
        text.push('\n');
    }
    std::fs::write(&log, text).unwrap_or_else(|e| panic!("{e}"));
    let s = Server::start(&[log.to_str().unwrap_or_default()]);
    // Score lines are scores, not bad lines.
    assert!(s.banner.contains("3 calls indexed"), "{}", s.banner);
    assert!(!s.banner.contains("skipped"), "{}", s.banner);

    let body = s.page("/stats");
    let table = body
        .split("id=\"scores\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no scores table: {body}"));
    for row in [
        // Per name over the models: (0.9 + 0.5 + 1) / 3.
        "<td>helpfulness</td><td>all models</td><td class=\"num\">3</td><td class=\"num\">0.800</td>",
        "<td></td><td>gpt-4o</td><td class=\"num\">2</td><td class=\"num\">0.700</td>",
        "<td></td><td>claude-sonnet-4-5</td><td class=\"num\">1</td><td class=\"num\">1.000</td>",
        "<td>thumbs_up</td><td>gpt-4o</td><td class=\"num\">1</td><td class=\"num\">1.000</td>",
        "<td>verdict</td><td>gpt-4o</td><td class=\"num\">1</td><td class=\"num\">–</td>",
    ] {
        assert!(table.contains(row), "the scores lack {row}: {table}");
    }
    // The same groups as `llm-traced stats --json`.
    let viewer: Value =
        serde_json::from_str(&s.page("/stats.json")).unwrap_or_else(|e| panic!("{e}"));
    let out = cli()
        .arg("stats")
        .arg(&log)
        .arg("--json")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let command: Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(command["scores"].as_array().map(Vec::len), Some(4));
    assert_eq!(viewer["scores"], command["scores"]);
    // The call page and the list read them from the log too.
    assert!(s
        .page(&format!("/calls/{}", rid(2)))
        .contains("<td>verdict</td><td class=\"score-value\">off-topic</td>"));
    assert!(row_of(&s.page("/"), &rid(2)).contains(">helpfulness=0.5 verdict=off-topic</td>"));
    // Filters narrow the scores with the calls.
    let json: Value = serde_json::from_str(&s.page("/stats.json?model=claude-sonnet-4-5"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["scores"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["scores"][0]["mean"], 1.0);
}
