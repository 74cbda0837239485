#!/usr/bin/env bash
# Benchmark of `llm-traced serve` on saved conversations: start-up time and
# memory of the index, and the server time of the pages (the `Server-Timing`
# header each response carries).
#
#   cli/benches/serve.sh                    # 100,000 conversations
#   RECORDS=20000 RUNS=5 cli/benches/serve.sh
#
# Needs: cargo, curl. Generates the conversations into /tmp (kept for the
# next run) with `llm-traced gen --conversations`, starts the viewer on a
# free port, and prints: the time from start to the printed URL, the
# resident memory then (VmRSS) and at its peak (VmHWM), and for each page
# the median and worst of RUNS requests. The search is timed the first
# time a text is searched (every body read) and again (its result cached). COLD=1 (as root) empties the page cache
# before the start and before the first search, so that the files are read
# from the disk.
set -euo pipefail

RECORDS=${RECORDS:-100000}
RUNS=${RUNS:-7}
SEED=${SEED:-42}
DIR=${DIR:-/tmp/llm-traced-bench-conversations-$RECORDS-$SEED}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

cd "$ROOT"
nice -n 10 cargo build --release -p llm-traced-cli >&2
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"

if [ ! -d "$DIR" ]; then
    echo "generating $RECORDS conversations into $DIR" >&2
    "$BIN/llm-traced" gen --records "$RECORDS" --seed "$SEED" --conversations "$DIR"
fi
echo "inputs: $(ls "$DIR" | wc -l) files, $(du -sh "$DIR" | cut -f1)"
drop_caches() {
    if [ "${COLD:-0}" = 1 ]; then sync && echo 3 > /proc/sys/vm/drop_caches; fi
}
if [ "${COLD:-0}" = 1 ]; then
    drop_caches
else
    find "$DIR" -type f -exec cat {} + > /dev/null # into the page cache
fi

ERR=$(mktemp)
start=$(date +%s.%N)
"$BIN/llm-traced" serve "$DIR" --port 0 2> "$ERR" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -f "$ERR"' EXIT
until grep -q 'http://' "$ERR"; do
    kill -0 $PID 2>/dev/null || { cat "$ERR"; exit 1; }
    sleep 0.01
done
ready=$(date +%s.%N)
URL=$(grep -o 'http://[^ ]*' "$ERR")
cat "$ERR"
printf 'start-up to the URL: %.2f s\n' "$(echo "$ready - $start" | bc -l)"
grep -E 'VmRSS|VmHWM' /proc/$PID/status

# timing PATH: the Server-Timing of RUNS requests, median and max (ms).
timing() {
    local path=$1 n=$2
    for _ in $(seq "$n"); do
        curl -s -o /dev/null -D - "$URL${path#/}" | tr -d '\r' |
            sed -n 's/^server-timing: app;dur=//p'
    done | sort -n | awk '{a[NR]=$1} END {printf "%9.2f ms median %9.2f ms max\n", a[int((NR+1)/2)], a[NR]}'
}

# A call, its trace and its session, from the first page.
LIST=$(curl -s "$URL")
RID=$(grep -o 'data-id="[^"]*"' <<< "$LIST" | sed -n 50p | cut -d'"' -f2)
RID2=$(grep -o 'data-id="[^"]*"' <<< "$LIST" | sed -n 60p | cut -d'"' -f2)
TID=$(grep -o 'href="/traces/[^"]*"' <<< "$LIST" | sed -n 50p | cut -d'"' -f2)
CALL=$(curl -s "${URL}calls/$RID")
SID=$(grep -o 'href="/sessions/[^"]*"' <<< "$CALL" | sed -n 1p | cut -d'"' -f2)
for page in \
    "/" \
    "/?model=gpt-4o&status=ok" \
    "/?tenant=acme&function=app%3A%3Aagents%3A%3Aplan&since=2026-11-03&until=2026-11-05" \
    "/?sort=latency" \
    "/?status=failed&page=5" \
    "/calls/$RID" \
    "$TID" \
    "$SID" \
    "/stats" \
    "/stats?model=gpt-4o" \
    "/stats.json"; do
    printf '%-80s %s\n' "$page" "$(timing "$page" "$RUNS")"
done
drop_caches
printf '%-80s %s\n' "/calls/$RID2 (first request)" "$(timing "/calls/$RID2" 1)"
printf '%-80s %s\n' "/?q=escalation+warranty (first search of it)" "$(timing "/?q=escalation+warranty" 1)"
printf '%-80s %s\n' "/?q=escalation+warranty (again: cached)" "$(timing "/?q=escalation+warranty" "$RUNS")"
printf '%-80s %s\n' "/?q=Zanzibar (another text, no match)" "$(timing "/?q=Zanzibar" 1)"
grep -E 'VmRSS|VmHWM' /proc/$PID/status
