//! `stats`: the command, and the report as text for people.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::aggregate::{self as stats, Filter, Partial, Report};
use super::read::{self as stats_read, ReadOptions, Source};
use super::StatsArgs;
use crate::exit::{Failure, Outcome};
use crate::render::{self, Column, Paint, Style, Table};

/// Runs `stats`.
pub fn run(args: &StatsArgs, style: Style) -> Result<Outcome, Failure> {
    let sources = sources(&args.logs, args.rotated)?;
    let labels: Vec<String> = sources.iter().map(Source::label).collect();
    let filter = Filter {
        since: args.since,
        until: args.until,
        tenant: args.tenant.clone(),
        by: args.by,
    };
    let threads = workers(args.threads);
    let options = ReadOptions {
        chunk_size: args.chunk_mb.clamp(1, 1024) << 20,
        max_line: stats_read::MAX_LINE,
        progress_from: (!args.no_progress).then_some(64 << 20),
    };
    let states: Vec<Partial<'_>> = (0..threads).map(|_| Partial::new(&filter)).collect();
    let parts = stats_read::scan(
        &sources,
        &options,
        states,
        Partial::add_chunk,
        Partial::finish,
    )
    .map_err(|e| Failure::Input(e.to_string()))?;
    let report = stats::merge(parts, &labels, &filter);

    let text = if args.json {
        let mut s =
            serde_json::to_string_pretty(&report).map_err(|e| Failure::Input(e.to_string()))?;
        s.push('\n');
        s
    } else {
        render_report(&report, render::width(), style)
    };
    crate::exit::print(&text)?;
    if report.bad_lines > 0 && args.json {
        eprintln!(
            "warning: {} line(s) are not llm-traced records and were skipped (first: {})",
            render::count(report.bad_lines),
            report.bad_line_examples.join(", ")
        );
    }
    let over_budget = args
        .max_error_rate
        .is_some_and(|max| report.records > 0 && report.errors.rate * 100.0 > max);
    if over_budget {
        eprintln!(
            "error rate {} is above --max-error-rate {}%",
            render::percent(report.errors.rate),
            args.max_error_rate.unwrap_or_default()
        );
    }
    Ok(if report.bad_lines > 0 || over_budget {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// The most worker threads `--threads` gets: each holds a chunk buffer,
/// and the merge looks at every worker's next sample.
pub const MAX_THREADS: usize = 64;

/// The number of workers: `--threads` within 1 to [`MAX_THREADS`], else
/// one per core, at most 8.
fn workers(requested: Option<usize>) -> usize {
    requested
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .min(8)
        })
        .clamp(1, MAX_THREADS)
}

/// The inputs: files, `-` for stdin, directories (their `*.jsonl` files),
/// and with `rotated` the rotated siblings of each file, oldest first.
fn sources(logs: &[PathBuf], rotated: bool) -> Result<Vec<Source>, Failure> {
    let mut out = Vec::new();
    for log in logs {
        if log.as_os_str() == "-" {
            out.push(Source::Stdin);
            continue;
        }
        let meta = std::fs::metadata(log)
            .map_err(|e| Failure::Input(format!("cannot read {}: {e}", log.display())))?;
        if meta.is_dir() {
            let mut files = jsonl_files(log)?;
            files.sort();
            out.extend(files.into_iter().map(Source::File));
            continue;
        }
        if rotated {
            let mut older = llm_traced_runtime::log::rotated_files(log).unwrap_or_default();
            older.sort();
            out.extend(older.into_iter().map(Source::File));
        }
        out.push(Source::File(log.clone()));
    }
    Ok(out)
}

fn jsonl_files(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure::Input(format!("cannot read {}: {e}", dir.display())))?;
    Ok(entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "jsonl"))
        .collect())
}

/// The report as text, fitted to `width` columns.
pub fn render_report(r: &Report, width: usize, style: Style) -> String {
    let mut out = String::new();
    let inputs = match r.inputs.as_slice() {
        [one] => one.clone(),
        many => format!("{} inputs", many.len()),
    };
    if r.records == 0 {
        let _ = writeln!(
            out,
            "{}",
            style.paint(Paint::Bold, &format!("No records in {inputs}."))
        );
        if r.filtered_out > 0 {
            let _ = writeln!(
                out,
                "{} record(s) were left out by the filters.",
                render::count(r.filtered_out)
            );
        }
        push_bad_lines(&mut out, r, style);
        return out;
    }
    let title = format!("{} records from {inputs}", render::count(r.records));
    let _ = writeln!(
        out,
        "{}",
        style.paint(Paint::Bold, &render::truncate(&title, width))
    );
    if let (Some(first), Some(last)) = (&r.first_started_at, &r.last_started_at) {
        let _ = writeln!(
            out,
            "{}",
            style.paint(Paint::Dim, &format!("{first} .. {last}"))
        );
    }
    if r.filtered_out > 0 {
        let _ = writeln!(
            out,
            "{} more left out by the filters",
            render::count(r.filtered_out)
        );
    }
    out.push('\n');

    let t = &r.tokens;
    let mut facts: Vec<(&str, String, Option<Paint>)> = vec![
        ("requests", render::count(r.records), None),
        (
            "errors",
            format!(
                "{} ({})",
                render::count(r.errors.count),
                render::percent(r.errors.rate)
            ),
            (r.errors.count > 0).then_some(Paint::Red),
        ),
        (
            "input tokens",
            format!(
                "{} total, {:.1} mean",
                render::count(t.input_total),
                t.input_mean
            ),
            None,
        ),
        (
            "output tokens",
            format!(
                "{} total, {:.1} mean",
                render::count(t.output_total),
                t.output_mean
            ),
            None,
        ),
    ];
    let mut cost = render::usd(r.cost.total_usd);
    if r.cost.calls_without_cost > 0 {
        let _ = write!(
            cost,
            " ({} call(s) without a price)",
            render::count(r.cost.calls_without_cost)
        );
    }
    facts.push(("cost", cost, None));
    if let Some(l) = &r.latency_ms {
        let latency = format!(
            "mean {} · max {}",
            render::duration_ms(l.mean),
            render::duration_ms(l.max)
        );
        facts.push(("latency", latency, None));
        let percentiles = format!(
            "p50 {} · p95 {} · p99 {}",
            render::duration_ms(l.p50),
            render::duration_ms(l.p95),
            render::duration_ms(l.p99)
        );
        facts.push(("percentiles", percentiles, None));
    }
    for (label, value, paint) in facts {
        let line = render::wrap(&value, width, &format!("  {label:<15}"), &" ".repeat(17));
        match paint {
            Some(p) => out.push_str(&style.paint(p, line.trim_end())),
            None => out.push_str(line.trim_end()),
        }
        out.push('\n');
    }

    if !r.errors.by_type.is_empty() {
        let _ = writeln!(out, "\n{}", style.paint(Paint::Bold, "Errors by type"));
        let mut table = Table::new(vec![
            Column::text("TYPE"),
            Column::number("COUNT"),
            Column::number("SHARE"),
        ]);
        for e in &r.errors.by_type {
            table.row(
                vec![
                    e.error_type.clone(),
                    render::count(e.count),
                    render::percent1(e.count as f64 / r.errors.count.max(1) as f64),
                ],
                None,
            );
        }
        out.push_str(&table.render(width, "  ", style));
    }

    for (title, header, groups) in [
        ("By model", "MODEL", &r.by_model),
        ("By function", "FUNCTION", &r.by_function),
    ] {
        let _ = writeln!(out, "\n{}", style.paint(Paint::Bold, title));
        let mut table = Table::new(vec![
            Column::text(header),
            Column::number("CALLS"),
            Column::number("ERR%"),
            Column::number("TOKENS"),
            Column::number("COST"),
            Column::number("P95"),
        ]);
        let decimals = render::usd_column_decimals(groups.iter().map(|g| g.cost_usd));
        for g in groups {
            table.row(
                vec![
                    g.name.clone(),
                    render::count(g.count),
                    render::percent1(g.errors as f64 / g.count.max(1) as f64),
                    render::short_count(g.input_tokens.saturating_add(g.output_tokens)),
                    render::usd_with(g.cost_usd, decimals),
                    render::duration_ms(g.p95_ms),
                ],
                None,
            );
        }
        out.push_str(&table.render(width, "  ", style));
    }

    if !r.scores.is_empty() {
        let _ = writeln!(out, "\n{}", style.paint(Paint::Bold, "Scores"));
        let mut table = Table::new(vec![
            Column::text("SCORE"),
            Column::text("MODEL"),
            Column::number("COUNT"),
            Column::number("MEAN"),
        ]);
        for g in &r.scores {
            table.row(
                vec![
                    g.name.clone(),
                    g.model.clone(),
                    render::count(g.count),
                    g.mean.map_or_else(|| "-".to_owned(), |m| format!("{m:.3}")),
                ],
                None,
            );
        }
        out.push_str(&table.render(width, "  ", style));
    }

    if let Some(by_time) = &r.by_time {
        let title = match by_time.unit {
            stats::Bucket::Hour => "By hour (UTC)",
            stats::Bucket::Day => "By day (UTC)",
        };
        let _ = writeln!(out, "\n{}", style.paint(Paint::Bold, title));
        let mut table = Table::new(vec![
            Column::fixed("START"),
            Column::number("CALLS"),
            Column::number("ERR%"),
            Column::number("TOKENS"),
            Column::number("COST"),
            Column::number("P50"),
            Column::number("P95"),
        ]);
        let decimals = render::usd_column_decimals(by_time.buckets.iter().map(|b| b.cost_usd));
        for b in &by_time.buckets {
            let start = crate::when::rfc3339_millis(&b.start).map_or_else(
                || b.start.clone(),
                |ms| {
                    let s = crate::when::format_minutes(ms);
                    if by_time.unit == stats::Bucket::Day {
                        s.get(..10).unwrap_or(&s).to_owned()
                    } else {
                        s
                    }
                },
            );
            table.row(
                vec![
                    start,
                    render::count(b.count),
                    render::percent1(b.errors as f64 / b.count.max(1) as f64),
                    render::short_count(b.tokens),
                    render::usd_with(b.cost_usd, decimals),
                    render::duration_ms(b.p50_ms),
                    render::duration_ms(b.p95_ms),
                ],
                None,
            );
        }
        out.push_str(&table.render(width, "  ", style));
    }
    push_bad_lines(&mut out, r, style);
    out
}

fn push_bad_lines(out: &mut String, r: &Report, style: Style) {
    if r.bad_lines == 0 {
        return;
    }
    let text = format!(
        "Skipped {} line(s) that are not records; first at {}",
        render::count(r.bad_lines),
        r.bad_line_examples.join(", ")
    );
    out.push('\n');
    for line in render::wrap(&text, render::width(), "", "  ").lines() {
        let _ = writeln!(out, "{}", style.paint(Paint::Yellow, line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_clamped_to_1_to_64() {
        assert_eq!(workers(Some(0)), 1);
        assert_eq!(workers(Some(3)), 3);
        assert_eq!(workers(Some(64)), 64);
        assert_eq!(workers(Some(65)), MAX_THREADS);
        assert_eq!(workers(Some(usize::MAX)), MAX_THREADS);
        assert!((1..=8).contains(&workers(None)));
    }
}
