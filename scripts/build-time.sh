#!/usr/bin/env bash
# Clean-build time of a hello app on llm-traced versus the same app on
# tracing + tracing-subscriber (json, env-filter) + serde_json.
#
#   scripts/build-time.sh [runs]
#
# Each run builds both apps from scratch (own target dirs, dependencies
# already downloaded), one after the other, with the machine's default jobs.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/on-llm-traced/src" "$work/on-tracing/src"
cat > "$work/on-llm-traced/Cargo.toml" <<TOML
[package]
name = "on-llm-traced"
version = "0.0.0"
edition = "2021"
[dependencies]
llm-traced = { path = "$repo" }
serde_json = "1"
[workspace]
TOML
cat > "$work/on-llm-traced/src/main.rs" <<'RS'
use llm_traced::llm_traced;

#[llm_traced(provider = "openai", model = "gpt-4o")]
fn ask(messages: &[&str]) -> serde_json::Value {
    serde_json::json!({"choices": [{"message": {"content": messages.join(" ")}}]})
}

fn main() {
    println!("{}", ask(&["hello"]));
}
RS
cat > "$work/on-tracing/Cargo.toml" <<TOML
[package]
name = "on-tracing"
version = "0.0.0"
edition = "2021"
[dependencies]
tracing = "0.1"
tracing-subscriber = { version = "0.3", features = ["json", "env-filter"] }
serde_json = "1"
[workspace]
TOML
cat > "$work/on-tracing/src/main.rs" <<'RS'
#[tracing::instrument(skip_all)]
fn ask(messages: &[&str]) -> serde_json::Value {
    serde_json::json!({"choices": [{"message": {"content": messages.join(" ")}}]})
}

fn main() {
    tracing_subscriber::fmt().json().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    println!("{}", ask(&["hello"]));
}
RS

for app in on-llm-traced on-tracing; do
    (cd "$work/$app" && cargo fetch -q)
done
for run in $(seq "$runs"); do
    for app in on-llm-traced on-tracing; do
        rm -rf "$work/$app/target"
        start=$(date +%s.%N)
        (cd "$work/$app" && cargo build -q)
        end=$(date +%s.%N)
        awk -v a="$app" -v r="$run" -v s="$start" -v e="$end" 'BEGIN { printf "%s run %s: %.1f s\n", a, r, e - s }'
    done
done
