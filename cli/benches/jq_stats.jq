# The report of `llm-traced stats` in jq (run with `jq -n -f jq_stats.jq`).
# Keeps a small projection of every record, as jq needs all latencies for
# exact percentiles (nearest rank, as llm-traced computes them).
def pct(p): sort | .[(((p * length) / 100) | ceil) - 1];
def groups(key):
  group_by(key)
  | map({name: (.[0] | key), count: length, errors: (map(select(.e)) | length),
         tokens: (map(.i + .o) | add), cost_usd: (map(.c) | add), p95_ms: (map(.l) | pct(95))})
  | sort_by(-.count, .name);
[inputs
 | {m: (.request_model // .response_model // "(none)"), f: (.function // "(none)"),
    l: .latency_ms, i: (.usage.input_tokens // 0), o: (.usage.output_tokens // 0), c: (.cost_usd // 0),
    e: (if .status == "ok" then null elif .error.type then .error.type
        elif .status == "error" then "unknown" else .status end)}]
| (map(.l)) as $lat
| {
    records: length,
    tokens: {input_total: (map(.i) | add), output_total: (map(.o) | add)},
    cost: {total_usd: (map(.c) | add)},
    latency_ms: {mean: ($lat | add / length), p50: ($lat | pct(50)), p95: ($lat | pct(95)),
                 p99: ($lat | pct(99)), max: ($lat | max)},
    errors: {count: (map(select(.e)) | length),
             by_type: (map(select(.e) | .e) | group_by(.) | map({type: .[0], count: length})
                       | sort_by(-.count, .type))},
    by_model: groups(.m),
    by_function: groups(.f)
  }
