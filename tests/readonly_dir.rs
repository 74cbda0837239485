//! A conversations directory that cannot be written: every call still
//! succeeds, and the process prints one warning.

mod common;

use llm_traced::{llm_traced, Config};

#[llm_traced]
fn call(n: u32) -> String {
    format!("answer {n}")
}

#[test]
fn unwritable_conversations_dir_never_fails_the_call() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ro");
    std::fs::create_dir(&dir).unwrap();
    let mut perms = std::fs::metadata(&dir).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
    std::fs::set_permissions(&dir, perms).unwrap();
    // Root ignores permission bits: then use a directory that cannot exist.
    let target = if std::fs::write(dir.join("probe"), b"x").is_ok() {
        std::path::PathBuf::from("/proc/llm-traced-cannot-write-here")
    } else {
        dir.clone()
    };
    let out = common::run_child(
        "child_calls_three_times",
        &[("TARGET_DIR", target.to_str().unwrap())],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr
            .matches("llm-traced: cannot save the conversation")
            .count(),
        1,
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("answer 2"));
    assert!(llm_traced::flush());
    let written = std::fs::read_dir(&dir).unwrap().filter(|e| {
        e.as_ref()
            .unwrap()
            .path()
            .extension()
            .is_some_and(|x| x == "json")
    });
    assert_eq!(written.count(), 0);
}

#[test]
fn child_calls_three_times() {
    if !common::is_child() {
        return;
    }
    let target = std::env::var("TARGET_DIR").unwrap();
    Config::default()
        .save_conversations(true)
        .conversations_dir(target)
        .install()
        .unwrap();
    for n in 0..3 {
        let answer = call(n);
        assert_eq!(answer, format!("answer {n}"));
        println!("{answer}");
    }
}
