//! Instruction counts per call, for numbers that do not move with the
//! machine's load: run the binary under callgrind once per variant.
//!
//! ```sh
//! cargo bench -p llm-traced-integration --bench instructions --no-run
//! BIN=$(ls -t target/release/deps/instructions-* | grep -v '\.d$' | head -1)
//! for v in async_bare async_llm_traced_off sync_bare sync_llm_traced_off async_tracing_instrument; do
//!     valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$v" 1000000 2>&1 | grep refs
//! done
//! ```
//!
//! The difference between a variant's total and `empty`'s, divided by the
//! count, is the instructions per call. Run without arguments (as
//! `cargo bench` does), it makes one pass of every variant and exits.

use std::hint::black_box;

mod shared;
use shared::*;

fn run(variant: &str, n: u64) {
    for _ in 0..n {
        let m = black_box(MESSAGES);
        black_box(match variant {
            "empty" => "",
            "async_bare" => poll_once(bare_async(m)),
            "async_tracing_instrument" => poll_once(instrument_async(m)),
            "async_llm_traced_off" => poll_once(llm_traced_async(m)),
            "sync_bare" => bare_sync(m),
            "sync_llm_traced_off" => llm_traced_sync(m),
            other => panic!("unknown variant {other}"),
        });
    }
}

fn main() {
    llm_traced::Config::default().install().unwrap();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match args.as_slice() {
        [variant, n] => run(variant, n.parse().expect("a count")),
        _ => {
            for v in [
                "empty",
                "async_bare",
                "async_tracing_instrument",
                "async_llm_traced_off",
                "sync_bare",
                "sync_llm_traced_off",
            ] {
                run(v, 1);
            }
        }
    }
}
