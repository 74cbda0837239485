//! What `cargo install llm-traced-cli` gives: one binary, `llm-traced`, whose
//! shell completions and manual page know every command, and whose data
//! generator (`gen`, for benchmarks) stays out of the help.

mod common;

use common::{cli, stdout};

/// The subcommands a user sees in `--help`.
const COMMANDS: &[&str] = &[
    "show",
    "ls",
    "stats",
    "tail",
    "diagnose",
    "score",
    "serve",
    "export",
    "replay",
    "audit",
    "completions",
    "man",
];

#[test]
fn completions_for_every_shell_know_every_command() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = cli().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", common::stderr(&out));
        let script = stdout(&out);
        assert!(script.len() > 1000, "{shell}: a script");
        for command in COMMANDS {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
        // The nested command and an option of a command.
        assert!(script.contains("verify"), "{shell} lacks audit verify");
        assert!(script.contains("since"), "{shell} lacks ls --since");
        assert!(!script.contains("body-kib"), "{shell} offers the generator");
    }
    let out = cli().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn the_manual_page_has_a_section_per_command() {
    let out = cli().arg("man").output().unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let page = stdout(&out);
    assert!(
        page.starts_with(".ie") || page.starts_with(".TH"),
        "roff: {}",
        &page[..80]
    );
    assert!(page.contains(".TH llm-traced 1"), "the title");
    for command in COMMANDS {
        let heading = format!(".SH \"LLM-TRACED {}\"", command.to_uppercase());
        assert!(page.contains(&heading), "no section {heading}");
    }
    assert!(page.contains(".SH \"LLM-TRACED AUDIT VERIFY\""));
    // A command's options and examples are in its section.
    let ls = &page[page.find(".SH \"LLM-TRACED LS\"").unwrap()..];
    assert!(ls.contains("since"), "ls's options");
    assert!(ls.contains("saved conversations"), "ls's text");
    assert!(!page.contains("LLM-TRACED GEN"), "gen is hidden");
}

#[test]
fn the_generator_is_a_hidden_command() {
    let help = stdout(&cli().arg("--help").output().unwrap());
    assert!(!help.contains("gen "), "{help}");
    let out = cli()
        .args(["gen", "--records", "3", "--seed", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 3);
}
