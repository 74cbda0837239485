#!/usr/bin/env bash
# Builds the facade with each documented feature alone, with none and with
# the defaults, so that gating code behind a feature breaks no combination;
# then runs the UI tests with the defaults, where `#[llm_traced(audit)]`
# must be a compile error.
#
#   scripts/features.sh
set -euo pipefail
cd "$(dirname "$0")/.."
features=$(sed -n '/^\[features\]/,/^\[/p' Cargo.toml | grep -oE '^[a-z][a-z0-9-]*' | grep -v '^default$')
echo "-- no features"
cargo check -p llm-traced --lib --no-default-features
echo "-- the defaults"
cargo check -p llm-traced --lib
for f in $features; do
    echo "-- $f alone"
    cargo check -p llm-traced --lib --no-default-features --features "$f"
done
echo "-- UI tests with the defaults"
cargo test -p llm-traced --test ui
