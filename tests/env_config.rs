//! Configuration from the environment, in child processes so that no test
//! races on the process environment.

mod common;

use llm_traced::llm_traced;

#[llm_traced(model = "gpt-4o")]
fn env_call(messages: &[&str]) -> String {
    format!("{} messages", messages.len())
}

#[test]
fn child_makes_one_call() {
    if !common::is_child() {
        return;
    }
    println!("{}", env_call(&["secret prompt"]));
}

#[test]
fn accepted_spellings_switch_outputs_on() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("convs");
    let out = common::run_child(
        "child_makes_one_call",
        &[
            ("LLM_DEBUG", "On"),
            ("LLM_LOG_PROMPTS", "YES"),
            ("LLM_SAVE_CONVERSATIONS", "1"),
            ("LLM_CONVERSATIONS_DIR", dir.to_str().unwrap()),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("LLM call  env_call"), "{stderr}");
    assert!(
        stderr.contains("prompt    \"secret prompt\""),
        "the prompt is shown: {stderr}"
    );
    // LLM_LOG_RESPONSES is off: the answer is not in the block.
    assert!(!stderr.contains("response  1 messages"), "{stderr}");
    assert!(llm_traced::flush());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn unknown_value_gives_one_warning_and_the_default() {
    let temp = tempfile::tempdir().unwrap();
    let out = common::run_child(
        "child_makes_one_call",
        &[
            ("LLM_DEBUG", "maybe"),
            ("LLM_CONVERSATIONS_DIR", temp.path().to_str().unwrap()),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr
            .matches("llm-traced: ignoring LLM_DEBUG=\"maybe\"")
            .count(),
        1,
        "{stderr}"
    );
    assert!(!stderr.contains("LLM call"), "debug stays off: {stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 messages"));
}

#[test]
fn nothing_is_written_by_default() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("convs");
    let out = common::run_child(
        "child_makes_one_call",
        &[("LLM_CONVERSATIONS_DIR", dir.to_str().unwrap())],
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("LLM call"));
    assert!(!dir.exists(), "no conversation saved unless asked");
}
