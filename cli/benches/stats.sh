#!/usr/bin/env bash
# Benchmark of `llm-traced stats` against jq and DuckDB on the same log.
#
#   cli/benches/stats.sh                    # 1,000,000 records
#   RECORDS=200000 RUNS=5 cli/benches/stats.sh
#
# Needs: cargo, /usr/bin/time (apt-get install time), jq (apt-get install
# jq), python3 with duckdb (pip install duckdb). Generates the log into /tmp
# (kept for the next run), warms the page cache, runs every tool RUNS times
# (jq JQ_RUNS times, it is slow; 0 leaves it out) and prints the best wall
# time, throughput and peak resident memory of each, after checking that
# they agree. The binaries are taken from $CARGO_TARGET_DIR when it is set.
set -euo pipefail

RECORDS=${RECORDS:-1000000}
RUNS=${RUNS:-3}
JQ_RUNS=${JQ_RUNS:-1}
SEED=${SEED:-42}
LOG=${LOG:-/tmp/llm-traced-bench-$RECORDS-$SEED.jsonl}
OUT=${OUT:-/tmp/llm-traced-bench-out}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
mkdir -p "$OUT"

cd "$ROOT"
nice -n 10 cargo build --release -p llm-traced-cli >&2
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"

if [ ! -s "$LOG" ]; then
    echo "generating $RECORDS records into $LOG" >&2
    "$BIN/llm-traced" gen --records "$RECORDS" --seed "$SEED" --out "$LOG"
fi
BYTES=$(stat -c %s "$LOG")
cat "$LOG" > /dev/null # into the page cache

# run NAME RUNS COMMAND…: the best wall time, with its CPU time (user +
# system) and peak RSS; the output is kept for the comparison.
run() {
    local name=$1 runs=$2
    shift 2
    [ "$runs" -gt 0 ] || return 0 # JQ_RUNS=0: leave jq out
    local best="" best_cpu="" best_rss=""
    for _ in $(seq "$runs"); do
        /usr/bin/time -f "%e %U %S %M" -o "$OUT/$name.time" "$@" > "$OUT/$name.json" 2> "$OUT/$name.err"
        read -r secs user sys rss < <(tail -1 "$OUT/$name.time")
        if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then
            best=$secs
            best_cpu=$(awk "BEGIN{print $user + $sys}")
            best_rss=$rss
        fi
    done
    echo "$name $best $best_cpu $best_rss" >> "$OUT/results"
}

: > "$OUT/results"
run llm-traced "$RUNS" "$BIN/llm-traced" stats --json --no-progress "$LOG"
run duckdb "$RUNS" python3 "$HERE/duckdb_stats.py" "$LOG"
run jq "$JQ_RUNS" jq -n -f "$HERE/jq_stats.jq" "$LOG"

python3 - "$OUT" "$BYTES" "$RECORDS" "$(nproc)" <<'PY'
import json, sys
out, size, records, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = [line.split() for line in open(f"{out}/results")]
reports = {name: json.load(open(f"{out}/{name}.json")) for name, *_ in rows}
ours = reports["llm-traced"]
for name, r in reports.items():
    for key in ["p50", "p95", "p99", "max"]:
        assert abs(r["latency_ms"][key] - ours["latency_ms"][key]) < 1e-3, (name, key)
    assert r["records"] == ours["records"], name
    assert r["errors"]["count"] == ours["errors"]["count"], name
    assert r["tokens"]["input_total"] == ours["tokens"]["input_total"], name
    assert abs(r["cost"]["total_usd"] - ours["cost"]["total_usd"]) < 1e-6, name
l = ours["latency_ms"]
print(f"{records:,} records, {size / 1e6:.0f} MB ({size / records:.0f} bytes a line), {cores} cores")
print(f"all {len(reports)} agree: p50 {l['p50']} ms, p95 {l['p95']} ms, p99 {l['p99']} ms, "
      f"cost ${ours['cost']['total_usd']:.2f}, {ours['errors']['count']:,} errors")
print()
print(f"{'tool':<11} {'wall s':>7} {'MB/s':>6} {'records/s':>10} {'CPU s':>6} {'peak RSS':>9} {'wall vs us':>10}")
base = float(rows[0][1])
for name, secs, cpu, rss in rows:
    secs = float(secs)
    print(f"{name:<11} {secs:>7.2f} {size / 1e6 / secs:>6.0f} {records / secs:>10,.0f} {float(cpu):>6.2f} "
          f"{int(rss) / 1024:>6.0f} MB {secs / base:>9.1f}x")
PY
