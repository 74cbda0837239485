#!/usr/bin/env bash
# Clean-build time of a hello app on llm-traced versus the same app on
# tracing + tracing-subscriber (json, env-filter) + serde_json.
#
#   scripts/build-time.sh [runs]
#
# Each run builds both apps from scratch (own target dirs, dependencies
# already downloaded), one after the other (A B A B), with the machine's
# default jobs; it prints each pair's ratio, the median ratio, each app's
# crate count and the time `cargo build --timings` gives the runtime itself.
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
# The runtime's own compile, as `cargo build --timings` reports it.
runtime_time() {
    python3 - "$1" <<'PY'
import json, re, sys
html = open(sys.argv[1]).read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);", html, re.S).group(1))
print(" ".join(f"{u['duration']:.1f}" for u in units if u["name"] == "llm-traced-runtime"))
PY
}
ratios=()
for run in $(seq "$runs"); do
    declare -A took crates
    for app in on-llm-traced on-tracing; do
        rm -rf "$work/$app/target"
        start=$(date +%s.%N)
        (cd "$work/$app" && cargo build --timings 2>"$work/$app.log")
        end=$(date +%s.%N)
        crates[$app]=$(grep -c '^ *Compiling ' "$work/$app.log")
        took[$app]=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')
    done
    runtime=$(runtime_time "$work/on-llm-traced/target/cargo-timings/cargo-timing.html")
    ratio=$(awk -v a="${took[on-llm-traced]}" -v b="${took[on-tracing]}" 'BEGIN { printf "%.2f", a / b }')
    ratios+=("$ratio")
    echo "run $run: on-llm-traced ${took[on-llm-traced]} s (${crates[on-llm-traced]} crates), on-tracing ${took[on-tracing]} s (${crates[on-tracing]} crates), ratio $ratio; llm-traced-runtime itself ${runtime} s"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
echo "median ratio: $median"
