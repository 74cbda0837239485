#!/usr/bin/env python3
"""The report of `llm-traced stats` computed by DuckDB's read_json.

    python3 cli/benches/duckdb_stats.py /tmp/llm-traced-bench.jsonl

Reads the JSON-lines log once into a table of the columns the report needs
(the reader is told the columns, so it does not sample the file to guess
them), then computes: count, token sums and means, cost, latency mean and
exact percentiles (quantile_disc: the nearest rank, as llm-traced does),
errors by type, and the per-model and per-function breakdowns. Prints the
result as JSON on stdout and the time on stderr.
"""

import json
import sys
import time

import duckdb


def main() -> None:
    path = sys.argv[1]
    started = time.perf_counter()
    con = duckdb.connect()
    columns = {
        "request_model": "VARCHAR",
        "response_model": "VARCHAR",
        "function": "VARCHAR",
        "latency_ms": "DOUBLE",
        "status": "VARCHAR",
        "usage": "STRUCT(input_tokens UBIGINT, output_tokens UBIGINT)",
        "error": 'STRUCT("type" VARCHAR)',
        "cost_usd": "DOUBLE",
    }
    con.execute(
        """
        CREATE TEMP TABLE calls AS
        SELECT coalesce(request_model, response_model, '(none)') AS model,
               coalesce(function, '(none)') AS function,
               latency_ms,
               status,
               usage.input_tokens AS input_tokens,
               usage.output_tokens AS output_tokens,
               CASE WHEN status = 'ok' THEN NULL
                    ELSE coalesce(error."type", CASE WHEN status = 'error' THEN 'unknown' ELSE status END)
               END AS error_type,
               cost_usd
        FROM read_json(?, format = 'newline_delimited', columns = ?, ignore_errors = true)
        """,
        [path, columns],
    )
    (records, calls_with_usage, input_total, input_mean, output_total, output_mean, cost, mean, p50, p95, p99,
     max_ms, errors) = con.execute(
        """
        SELECT count(*),
               count(*) FILTER (WHERE input_tokens IS NOT NULL OR output_tokens IS NOT NULL),
               sum(input_tokens), avg(input_tokens), sum(output_tokens), avg(output_tokens),
               sum(cost_usd), avg(latency_ms),
               quantile_disc(latency_ms, 0.50), quantile_disc(latency_ms, 0.95), quantile_disc(latency_ms, 0.99),
               max(latency_ms), count(*) FILTER (WHERE status <> 'ok')
        FROM calls
        """
    ).fetchone()
    by_type = con.execute(
        "SELECT error_type, count(*) AS n FROM calls WHERE error_type IS NOT NULL "
        "GROUP BY error_type ORDER BY n DESC, error_type"
    ).fetchall()

    def groups(column: str) -> list:
        rows = con.execute(
            f"""
            SELECT {column}, count(*) AS n, count(*) FILTER (WHERE status <> 'ok'),
                   coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(cost_usd), 0),
                   quantile_disc(latency_ms, 0.50), quantile_disc(latency_ms, 0.95)
            FROM calls GROUP BY {column} ORDER BY n DESC, {column}
            """
        ).fetchall()
        keys = ["name", "count", "errors", "input_tokens", "output_tokens", "cost_usd", "p50_ms", "p95_ms"]
        return [dict(zip(keys, row)) for row in rows]

    report = {
        "records": records,
        "tokens": {
            "calls_with_usage": calls_with_usage,
            "input_total": input_total,
            "input_mean": input_mean,
            "output_total": output_total,
            "output_mean": output_mean,
        },
        "cost": {"total_usd": cost},
        "latency_ms": {"mean": mean, "p50": p50, "p95": p95, "p99": p99, "max": max_ms},
        "errors": {
            "count": errors,
            "rate": errors / records if records else 0.0,
            "by_type": [{"type": t, "count": n} for t, n in by_type],
        },
        "by_model": groups("model"),
        "by_function": groups("function"),
    }
    elapsed = time.perf_counter() - started
    json.dump(report, sys.stdout, indent=2, default=float)
    print()
    print(f"duckdb {duckdb.__version__}: {elapsed:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
