//! The audit log's public API: the per-action calls, the bound context, the
//! head file, `verify_file`/`verify_url`, the process-wide log from the
//! environment or `install`, interrupted writes, and errors.

use std::path::Path;

use llm_traced::audit::{
    self, Action, AuditError, AuditLog, Damage, FileOptions, Fsync, Head, NewEntry,
};
mod common;

use common::{is_child, run_child};
use llm_traced::context::Context;
use serde_json::json;

fn quiet_file(path: &Path) -> AuditLog {
    AuditLog::open_file(path, FileOptions::new().fsync(Fsync::Never)).unwrap()
}

#[test]
fn every_action_is_recorded_without_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = quiet_file(&path).with_key(b"k".to_vec());
    let context = Context::current()
        .with_user("bound-user")
        .with_metadata("ip_address", "198.51.100.4")
        .with_metadata("user_agent", "browser/2");
    context.in_scope(|| {
        log.query("u-1", "gpt-4o", "secret prompt", json!({"channel": "web"}))
            .unwrap();
        log.data_access("u-1", "crm", "secret retrieval query", 3)
            .unwrap();
        log.moderation(
            "u-1",
            "omni-moderation",
            "secret prompt",
            json!({"flagged": false}),
        )
        .unwrap();
        log.content_filter(
            "u-1",
            "gpt-4o",
            "secret completion",
            json!({"filter_result": {"violence": "high"}, "action_taken": "blocked"}),
        )
        .unwrap();
        log.completion("u-1", "gpt-4o", "secret completion", json!({"tokens": 12}))
            .unwrap();
        log.config_change("admin", "model", json!({"from": "gpt-4o", "to": "gpt-4.1"}))
            .unwrap();
        log.append(NewEntry::new(Action::Query, "m").from_context())
            .unwrap();
    });
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("secret"), "content is never stored:\n{text}");
    let entries = log.entries().unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "query",
            "data_access",
            "moderation",
            "content_filter",
            "completion",
            "config_change",
            "query"
        ]
    );
    assert_eq!(entries[0].user_id.as_deref(), Some("u-1"));
    assert_eq!(entries[0].ip_address.as_deref(), Some("198.51.100.4"));
    assert_eq!(entries[0].user_agent.as_deref(), Some("browser/2"));
    assert_eq!(
        entries[0].content_hash.as_deref(),
        Some(audit::sha256_hex(b"secret prompt").as_str())
    );
    assert_eq!(entries[1].resource, "crm");
    assert_eq!(entries[1].details, json!({"records_accessed": 3}));
    assert_eq!(entries[5].content_hash, None);
    assert_eq!(entries[6].user_id.as_deref(), Some("bound-user"));
    assert!(entries.iter().all(|e| e.mac.is_some()));
    let head = log.head().unwrap();
    assert_eq!(head.seq, 7);
    let report = log.verify(Some(&head)).unwrap();
    assert!(report.is_ok() && report.signatures_checked && report.head_checked);
    assert!(report.to_string().starts_with("OK: 7 entries"), "{report}");
}

#[test]
fn the_head_file_follows_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open_file(&path, FileOptions::new()).unwrap();
    assert_eq!(log.head().unwrap(), Head::genesis());
    let mut last = Head::genesis();
    for i in 0..5 {
        last = log.query("u", "m", &format!("q{i}"), json!({})).unwrap();
        assert_eq!(
            Head::read(dir.path().join("audit.jsonl.head")).unwrap(),
            last
        );
    }
    // Elsewhere, as configured.
    let elsewhere = dir.path().join("vault").join("audit.head");
    let log = AuditLog::open_file(&path, FileOptions::new().head_file(&elsewhere)).unwrap();
    let head = log.completion("u", "m", "a", json!({})).unwrap();
    assert_eq!(head.seq, 6);
    assert_eq!(Head::read(&elsewhere).unwrap(), head);
    // The head file's format: one line of JSON.
    let text = std::fs::read_to_string(&elsewhere).unwrap();
    assert_eq!(text, format!("{}\n", head.to_json()));
    assert!(text.starts_with("{\"seq\":6,\"hash\":\""));
    // An older head still verifies; a head from the future is a truncation.
    assert!(audit::verify_file(&path, None, Some(last)).unwrap().is_ok());
    let future = Head {
        seq: 9,
        hash: head.hash.clone(),
    };
    assert_eq!(
        audit::verify_file(&path, None, Some(future))
            .unwrap()
            .damage,
        Some(Damage::Truncated {
            head_seq: 9,
            last_seq: 6
        })
    );
}

#[test]
fn an_interrupted_write_is_cut_off_by_the_next_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = quiet_file(&path);
    log.query("u", "m", "a", json!({})).unwrap();
    log.query("u", "m", "b", json!({})).unwrap();
    drop(log);
    // A crash in the middle of a line.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"v\":1,\"seq\":3,\"ts\"");
    std::fs::write(&path, &bytes).unwrap();
    let report = audit::verify_file(&path, None, None).unwrap();
    assert!(matches!(
        report.damage,
        Some(Damage::Malformed { position: 3, .. })
    ));
    let log = quiet_file(&path);
    assert_eq!(log.query("u", "m", "c", json!({})).unwrap().seq, 3);
    assert!(log.verify(None).unwrap().is_ok());
}

#[test]
fn a_corrupt_last_line_refuses_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, "garbage\n").unwrap();
    let log = quiet_file(&path);
    let err = log.query("u", "m", "x", json!({})).unwrap_err();
    assert!(matches!(err, AuditError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("audit.jsonl"), "{err}");
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let log = quiet_file(&dir.path().join("audit.jsonl"));
    let err = log
        .append(NewEntry::new(Action::Query, "m").content_hash("not-a-hash"))
        .unwrap_err();
    assert!(matches!(err, AuditError::InvalidEntry(_)), "{err}");
    let err = log.query("u\0", "m", "x", json!({})).unwrap_err();
    assert!(err.to_string().contains("NUL"), "{err}");
    assert!(Head::parse("nonsense").is_err());
    let missing = audit::verify_file(dir.path().join("missing.jsonl"), None, None).unwrap_err();
    assert!(matches!(missing, AuditError::Io { .. }), "{missing}");
    assert!(missing.to_string().contains("missing.jsonl"), "{missing}");
    // Random bytes: findings, never a panic.
    let path = dir.path().join("noise.jsonl");
    let mut state = 0x1234_5678_u64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 256) as u8
        })
        .collect();
    std::fs::write(&path, noise).unwrap();
    let report = audit::verify_file(&path, Some(b"k"), None).unwrap();
    assert!(!report.is_ok());
}

#[test]
fn urls_open_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.jsonl");
    let log = AuditLog::open_url(file.to_str().unwrap()).unwrap();
    let head = log.query("u", "m", "x", json!({})).unwrap();
    assert!(
        audit::verify_url(file.to_str().unwrap(), None, Some(head.clone()))
            .unwrap()
            .is_ok()
    );
    assert!(
        audit::verify_url(&format!("file://{}", file.display()), None, Some(head))
            .unwrap()
            .is_ok()
    );
    let db = dir.path().join("a.db");
    let url = format!("sqlite://{}", db.display());
    #[cfg(feature = "sqlite")]
    {
        let log = AuditLog::open_url(&url).unwrap();
        let head = log.query("u", "m", "x", json!({})).unwrap();
        assert_eq!(log.describe(), url);
        assert!(audit::verify_url(&url, None, Some(head)).unwrap().is_ok());
        // Verifying a database that is not there creates nothing.
        let missing = dir.path().join("missing.db");
        assert!(audit::verify_url(&format!("sqlite://{}", missing.display()), None, None).is_err());
        assert!(!missing.exists());
    }
    #[cfg(not(feature = "sqlite"))]
    {
        let err = AuditLog::open_url(&url).unwrap_err();
        assert!(err.to_string().contains("feature `sqlite`"), "{err}");
    }
}

// ---------------------------------------------------------------------------
// The process-wide log (each in a child process: it is configured once)

#[test]
fn env_configured_log_child() {
    if !is_child() {
        return;
    }
    let log = audit::global().expect("configured from the environment");
    assert!(log.is_keyed());
    Context::current().with_user("env-user").in_scope(|| {
        audit::record(NewEntry::new(Action::DataAccess, "docs").content("q"));
        audit::record(NewEntry::new(Action::Query, "gpt-4o").content("p"));
    });
    assert!(audit::flush());
    assert_eq!(log.head().unwrap().seq, 2);
    // A second install is refused: the log is handed back.
    let other = AuditLog::open_file(
        std::env::var("LLM_AUDIT_FILE").unwrap() + ".other",
        FileOptions::new(),
    )
    .unwrap();
    assert!(audit::install(other).is_err());
    // One more, written at exit by the exit flush.
    audit::record(NewEntry::new(Action::Completion, "gpt-4o").user("late"));
}

#[test]
fn env_configured_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("env.jsonl");
    let path_text = path.to_str().unwrap();
    run_child(
        "env_configured_log_child",
        &[
            ("LLM_AUDIT_FILE", path_text),
            ("LLM_AUDIT_KEY", "env-secret"),
            ("LLM_AUDIT_FSYNC", "never"),
        ],
    );
    let head = Head::read(dir.path().join("env.jsonl.head")).unwrap();
    assert_eq!(head.seq, 3, "the exit flush wrote the last entry");
    let report = audit::verify_file(&path, Some(b"env-secret"), Some(head)).unwrap();
    assert!(report.is_ok(), "{report}");
    let log = AuditLog::open_file(&path, FileOptions::new()).unwrap();
    let entries = log.entries().unwrap();
    assert_eq!(entries[0].user_id.as_deref(), Some("env-user"));
    assert_eq!(entries[2].user_id.as_deref(), Some("late"));
}

#[test]
fn bad_env_value_warns_and_keeps_the_log_child() {
    if !is_child() {
        return;
    }
    assert!(audit::global().is_some());
    audit::record(NewEntry::new(Action::Query, "m"));
    audit::record(NewEntry::new(Action::Query, "m"));
    assert!(audit::flush());
}

#[test]
fn a_mistyped_fsync_policy_warns_once_and_audits_with_the_safe_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.jsonl");
    let out = run_child(
        "bad_env_value_warns_and_keeps_the_log_child",
        &[
            ("LLM_AUDIT_FILE", path.to_str().unwrap()),
            ("LLM_AUDIT_FSYNC", "sometimes"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("LLM_AUDIT_FSYNC").count(), 1, "{stderr}");
    assert!(
        stderr.contains("\"sometimes\"") && stderr.contains("using the default"),
        "{stderr}"
    );
    assert!(!stderr.contains("audit log disabled"), "{stderr}");
    let report = audit::verify_file(&path, None, None).unwrap();
    assert!(report.is_ok() && report.entries == 2, "{report}");
}

#[test]
fn an_unopenable_audit_log_is_disabled_with_one_warning_child() {
    if !is_child() {
        return;
    }
    assert!(audit::global().is_none());
    audit::record(NewEntry::new(Action::Query, "m"));
    assert!(audit::flush());
}

#[test]
fn an_unopenable_audit_log_is_disabled_with_one_warning() {
    let out = run_child(
        "an_unopenable_audit_log_is_disabled_with_one_warning_child",
        &[("LLM_AUDIT_FILE", "/dev/null/audit.jsonl")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("audit log disabled").count(), 1, "{stderr}");
}

#[test]
fn installed_log_child() {
    if !is_child() {
        return;
    }
    let path = std::env::var("AUDIT_TEST_PATH").unwrap();
    let log = AuditLog::open_file(&path, FileOptions::new().fsync(Fsync::EveryN(10))).unwrap();
    audit::install(log).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..50 {
                    audit::record(
                        NewEntry::new(Action::Query, "m")
                            .user(format!("t{t}"))
                            .details(json!({"i": i})),
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(audit::flush());
    assert_eq!(audit::global().unwrap().head().unwrap().seq, 200);
}

#[test]
fn installed_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("installed.jsonl");
    run_child(
        "installed_log_child",
        &[("AUDIT_TEST_PATH", path.to_str().unwrap())],
    );
    let report = audit::verify_file(&path, None, None).unwrap();
    assert!(report.is_ok() && report.entries == 200, "{report}");
}

#[test]
fn no_log_configured_is_free_and_silent() {
    // Nothing in the environment (cargo test does not set LLM_AUDIT_*):
    // recording is a no-op.
    if std::env::var_os("LLM_AUDIT_FILE").is_some() || std::env::var_os("LLM_AUDIT_DB").is_some() {
        return;
    }
    let started = std::time::Instant::now();
    for _ in 0..100_000 {
        audit::record(NewEntry::new(Action::Query, "m"));
    }
    assert!(audit::global().is_none());
    assert!(audit::flush());
    eprintln!("100k record() calls without a log: {:?}", started.elapsed());
}
