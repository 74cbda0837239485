//! `/stats`: the figures of `llm-traced stats`, computed the same way over
//! the filtered calls, with charts over time (inline SVG).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::stats::aggregate::{
    rank, Bucket, ByTime, Cost, ErrorType, Errors, Group, Latency, Report, ScoreGroup, TimeBucket,
    Tokens,
};

use super::html::{self, esc};
use super::index::{Entry, Index};
use super::query::Query;

/// Sums as `stats` keeps them (integers, so that the order does not matter).
#[derive(Default, Clone)]
struct Sums {
    count: u64,
    errors: u64,
    input: u64,
    output: u64,
    with_usage: u64,
    cost_pico: u128,
    with_cost: u64,
    latency_ns: u128,
    latencies: Vec<f64>,
}

impl Sums {
    fn add(&mut self, e: &Entry) {
        self.count += 1;
        self.errors += u64::from(e.failed());
        if e.input_tokens.is_some() || e.output_tokens.is_some() {
            self.with_usage += 1;
            self.input = self.input.saturating_add(e.input_tokens.unwrap_or(0));
            self.output = self.output.saturating_add(e.output_tokens.unwrap_or(0));
        }
        if let Some(c) = e.cost_usd.filter(|c| c.is_finite() && *c >= 0.0) {
            self.cost_pico = self.cost_pico.saturating_add((c * 1e12).round() as u128);
            self.with_cost += 1;
        }
        let latency = e.latency_ms.max(0.0) + 0.0;
        self.latency_ns = self
            .latency_ns
            .saturating_add((latency * 1e6).round() as u128);
        self.latencies.push(latency);
    }

    fn cost(&self) -> f64 {
        round_cost(self.cost_pico as f64 / 1e12)
    }

    /// p50, p95, p99 (nearest rank); sorts the latencies.
    fn percentiles(&mut self) -> [f64; 3] {
        self.latencies.sort_unstable_by(f64::total_cmp);
        let n = self.latencies.len() as u64;
        if n == 0 {
            return [0.0; 3];
        }
        [50, 95, 99].map(|p| self.latencies[rank(n, p) as usize])
    }
}

fn round_cost(usd: f64) -> f64 {
    (usd * 1e9).round() / 1e9
}

/// The report of `llm-traced stats --json`, for these calls.
pub fn report(index: &Index, ids: &[u32], by: Option<Bucket>, inputs: Vec<String>) -> Report {
    let syms = &index.syms;
    let mut total = Sums::default();
    let mut models: HashMap<&str, Sums> = HashMap::new();
    let mut functions: HashMap<&str, Sums> = HashMap::new();
    let mut buckets: BTreeMap<i64, Sums> = BTreeMap::new();
    let mut types: HashMap<&str, u64> = HashMap::new();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for &id in ids {
        let e = index.entry(id);
        total.add(e);
        let model = e.model().map_or("(none)", |m| syms.name(m));
        models.entry(model).or_default().add(e);
        functions.entry(syms.name(e.function)).or_default().add(e);
        if let Some(unit) = by {
            let ms = millis(unit);
            buckets
                .entry(e.started_ms().div_euclid(ms))
                .or_default()
                .add(e);
        }
        if let Some(class) = e.error_class(syms) {
            *types.entry(class).or_default() += 1;
        }
        first = first.min(e.started_us);
        last = last.max(e.started_us);
    }
    let n = total.count;
    let latency = (n > 0).then(|| {
        let [p50, p95, p99] = total.percentiles();
        Latency {
            mean: total.latency_ns as f64 / 1e6 / n as f64,
            p50,
            p95,
            p99,
            max: total.latencies.last().copied().unwrap_or(0.0),
        }
    });
    let mean = |sum: u64, k: u64| {
        if k == 0 {
            0.0
        } else {
            (sum as f64 / k as f64 * 100.0).round() / 100.0
        }
    };
    let mut by_type: Vec<ErrorType> = types
        .into_iter()
        .map(|(k, v)| ErrorType {
            error_type: k.to_owned(),
            count: v,
        })
        .collect();
    by_type.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.error_type.cmp(&b.error_type))
    });
    let groups = |map: HashMap<&str, Sums>| {
        let mut out: Vec<Group> = map
            .into_iter()
            .map(|(name, mut s)| {
                let [p50, p95, _] = s.percentiles();
                Group {
                    name: name.to_owned(),
                    count: s.count,
                    errors: s.errors,
                    input_tokens: s.input,
                    output_tokens: s.output,
                    cost_usd: s.cost(),
                    p50_ms: p50,
                    p95_ms: p95,
                }
            })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        out
    };
    let by_time = by.map(|unit| ByTime {
        unit,
        buckets: buckets
            .into_iter()
            .map(|(k, mut s)| {
                let [p50, p95, _] = s.percentiles();
                TimeBucket {
                    start: crate::when::format_millis(k * millis(unit)),
                    count: s.count,
                    errors: s.errors,
                    tokens: s.input.saturating_add(s.output),
                    cost_usd: s.cost(),
                    p50_ms: p50,
                    p95_ms: p95,
                }
            })
            .collect(),
    });
    Report {
        inputs,
        records: n,
        filtered_out: (index.entries.len() as u64).saturating_sub(n),
        bad_lines: index.skipped_count,
        bad_line_examples: index
            .skipped
            .iter()
            .take(crate::stats::aggregate::BAD_EXAMPLES)
            .map(|s| s.what.clone())
            .collect(),
        first_started_at: (n > 0).then(|| crate::when::format_micros(first)),
        last_started_at: (n > 0).then(|| crate::when::format_micros(last)),
        tokens: Tokens {
            calls_with_usage: total.with_usage,
            input_total: total.input,
            input_mean: mean(total.input, total.with_usage),
            output_total: total.output,
            output_mean: mean(total.output, total.with_usage),
        },
        cost: Cost {
            total_usd: total.cost(),
            calls_with_cost: total.with_cost,
            calls_without_cost: n - total.with_cost,
        },
        latency_ms: latency,
        errors: Errors {
            count: total.errors,
            rate: if n == 0 {
                0.0
            } else {
                total.errors as f64 / n as f64
            },
            by_type,
        },
        by_model: groups(models),
        by_function: groups(functions),
        by_time,
        scores: score_sums(index, ids)
            .into_iter()
            .map(|((name, model), s)| ScoreGroup {
                name,
                model,
                count: s.count,
                mean: s.mean(),
            })
            .collect(),
    }
}

/// One score name's sums for one model.
#[derive(Default, Clone, Copy)]
struct ScoreSums {
    count: u64,
    numbers: u64,
    sum: f64,
}

impl ScoreSums {
    /// The mean of the numeric scores (yes/no as 1/0); none for labels only.
    fn mean(&self) -> Option<f64> {
        (self.numbers > 0).then(|| self.sum / self.numbers as f64)
    }
}

/// The scores of these calls per (name, model), as `llm-traced stats`
/// groups them: the model the score line names, else the call's.
fn score_sums(index: &Index, ids: &[u32]) -> BTreeMap<(String, String), ScoreSums> {
    let mut groups: BTreeMap<(String, String), ScoreSums> = BTreeMap::new();
    for &id in ids {
        let e = index.entry(id);
        if !index.has_scores(&e.request_id) {
            continue;
        }
        let call_model = e.model().map(|m| index.syms.name(m));
        for s in index.scores(&e.request_id) {
            let model = s
                .model
                .as_deref()
                .or(call_model)
                .unwrap_or("(none)")
                .to_owned();
            let sums = groups.entry((s.name, model)).or_default();
            sums.count += 1;
            if let Some(x) = s.value.filter(|x| x.is_finite()) {
                sums.numbers += 1;
                sums.sum += x;
            }
        }
    }
    groups
}

/// The stats page's scores table: per name over every model, then per
/// model when there are several.
fn scores_table(b: &mut String, sums: &BTreeMap<(String, String), ScoreSums>) {
    if sums.is_empty() {
        return;
    }
    b.push_str(
        "<h2>Scores</h2><table class=\"small-table\" id=\"scores\"><tr><th>score</th>\
         <th>model</th><th class=\"num\">count</th><th class=\"num\">mean</th></tr>",
    );
    let mean = |s: &ScoreSums| {
        s.mean()
            .map_or_else(|| "–".to_owned(), |m| format!("{m:.3}"))
    };
    let mut by_name: BTreeMap<&str, Vec<(&str, &ScoreSums)>> = BTreeMap::new();
    for ((name, model), s) in sums {
        by_name.entry(name).or_default().push((model, s));
    }
    for (name, models) in by_name {
        let all = models
            .iter()
            .fold(ScoreSums::default(), |a, (_, s)| ScoreSums {
                count: a.count + s.count,
                numbers: a.numbers + s.numbers,
                sum: a.sum + s.sum,
            });
        let _ = write!(
            b,
            "<tr class=\"score-name\"><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(name),
            esc(if models.len() > 1 { "all models" } else { models[0].0 }),
            html::count(all.count),
            mean(&all),
        );
        if models.len() > 1 {
            for (model, s) in models {
                let _ = write!(
                    b,
                    "<tr class=\"score-model\"><td></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    esc(model),
                    html::count(s.count),
                    mean(s),
                );
            }
        }
    }
    b.push_str("</table>");
}

fn millis(unit: Bucket) -> i64 {
    match unit {
        Bucket::Hour => 3_600_000,
        Bucket::Day => 86_400_000,
    }
}

/// The bucket size of the charts: as asked (`by`), else hours for a range
/// of up to three days, days beyond.
pub fn chart_unit(index: &Index, ids: &[u32], query: &Query) -> Bucket {
    match query.by.as_str() {
        "hour" => return Bucket::Hour,
        "day" => return Bucket::Day,
        _ => {}
    }
    let (lo, hi) = ids.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &id| {
        let t = index.entry(id).started_ms();
        (lo.min(t), hi.max(t))
    });
    if hi.saturating_sub(lo) <= 3 * 86_400_000 {
        Bucket::Hour
    } else {
        Bucket::Day
    }
}

/// The stats page's body.
pub fn render(index: &Index, query: &Query, ids: &[u32]) -> String {
    let unit = chart_unit(index, ids, query);
    let r = report(index, ids, Some(unit), Vec::new());
    let mut b = String::with_capacity(32 * 1024);
    super::list::filters(&mut b, index, query, "/stats");
    for p in &query.problems {
        let _ = write!(b, "<p class=\"problem\">{}</p>", esc(p));
    }
    let _ = write!(
        b,
        "<p class=\"bar-line\"><a href=\"/stats.json?{}\">as JSON</a> (the schema of <code>llm-traced stats --json</code>) · charts by \
         <a href=\"/stats?{}\">hour</a> / <a href=\"/stats?{}\">day</a></p>",
        esc(&query.to_query(&[])),
        esc(&query.to_query(&[("by", "hour")])),
        esc(&query.to_query(&[("by", "day")])),
    );
    if r.records == 0 {
        b.push_str("<p class=\"empty\">No calls match.</p>");
        return b;
    }
    let lat = r.latency_ms.unwrap_or(Latency {
        mean: 0.0,
        p50: 0.0,
        p95: 0.0,
        p99: 0.0,
        max: 0.0,
    });
    let _ = write!(
        b,
        "<div class=\"cards\" id=\"figures\">\
         <div class=\"card\"><div class=\"label\">calls</div><div class=\"value\" id=\"fig-calls\">{}</div></div>\
         <div class=\"card\"><div class=\"label\">errors</div><div class=\"value{}\" id=\"fig-errors\">{} <small>{}</small></div></div>\
         <div class=\"card\"><div class=\"label\">tokens in / out</div><div class=\"value\" id=\"fig-tokens\">{} / {}</div></div>\
         <div class=\"card\"><div class=\"label\">cost</div><div class=\"value\" id=\"fig-cost\">{}</div></div>\
         <div class=\"card\"><div class=\"label\">latency p50 / p95 / p99</div><div class=\"value\" id=\"fig-latency\">{} / {} / {}</div></div>\
         <div class=\"card\"><div class=\"label\">latency mean / max</div><div class=\"value\">{} / {}</div></div></div>",
        html::count(r.records),
        if r.errors.count > 0 { " errtext" } else { "" },
        html::count(r.errors.count),
        crate::render::percent1(r.errors.rate),
        html::count(r.tokens.input_total),
        html::count(r.tokens.output_total),
        html::usd(r.cost.total_usd),
        html::duration(lat.p50),
        html::duration(lat.p95),
        html::duration(lat.p99),
        html::duration(lat.mean),
        html::duration(lat.max),
    );
    charts(&mut b, index, ids, unit);
    if !r.errors.by_type.is_empty() {
        b.push_str("<h2>Errors by class</h2><table class=\"small-table\" id=\"errors-by-class\"><tr><th>class</th><th class=\"num\">calls</th></tr>");
        for t in &r.errors.by_type {
            let _ = write!(
                b,
                "<tr><td><a href=\"/?{}\">{}</a></td><td class=\"num\">{}</td></tr>",
                esc(&Query {
                    error: t.error_type.clone(),
                    ..query.clone()
                }
                .to_query(&[])),
                esc(&t.error_type),
                html::count(t.count)
            );
        }
        b.push_str("</table>");
    }
    for (title, id, groups, field) in [
        ("By model", "by-model", &r.by_model, "model"),
        ("By function", "by-function", &r.by_function, "function"),
    ] {
        let _ = write!(
            b,
            "<h2>{title}</h2><table class=\"small-table\" id=\"{id}\"><tr><th>{field}</th>\
             <th class=\"num\">calls</th><th class=\"num\">errors</th><th class=\"num\">input</th>\
             <th class=\"num\">output</th><th class=\"num\">cost</th><th class=\"num\">p50</th><th class=\"num\">p95</th></tr>"
        );
        for g in groups.iter() {
            let mut q = query.clone();
            if field == "model" {
                q.model = g.name.clone();
            } else {
                q.function = g.name.clone();
            }
            let _ = write!(
                b,
                "<tr><td><a href=\"/stats?{}\">{}</a></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&q.to_query(&[])),
                esc(&g.name),
                html::count(g.count),
                html::count(g.errors),
                html::count(g.input_tokens),
                html::count(g.output_tokens),
                html::usd(g.cost_usd),
                html::duration(g.p50_ms),
                html::duration(g.p95_ms),
            );
        }
        b.push_str("</table>");
    }
    scores_table(&mut b, &score_sums(index, ids));
    b
}

struct Point {
    start: i64,
    calls: f64,
    errors: f64,
    tokens: f64,
    cost: f64,
    p: [f64; 3],
}

fn charts(b: &mut String, index: &Index, ids: &[u32], unit: Bucket) {
    let ms = millis(unit);
    let mut buckets: BTreeMap<i64, Sums> = BTreeMap::new();
    for &id in ids {
        let e = index.entry(id);
        buckets
            .entry(e.started_ms().div_euclid(ms))
            .or_default()
            .add(e);
    }
    // Every bucket of the range, empty ones too, so that time is to scale.
    let (Some(&lo), Some(&hi)) = (buckets.keys().next(), buckets.keys().next_back()) else {
        return;
    };
    let hi = hi.min(lo + 2000);
    let points: Vec<Point> = (lo..=hi)
        .map(|k| {
            let mut s = buckets.remove(&k).unwrap_or_default();
            let p = s.percentiles();
            Point {
                start: k * ms,
                calls: s.count as f64,
                errors: s.errors as f64,
                tokens: s.input.saturating_add(s.output) as f64,
                cost: s.cost(),
                p,
            }
        })
        .collect();
    let unit_name = match unit {
        Bucket::Hour => "hour",
        Bucket::Day => "day",
    };
    b.push_str("<div class=\"charts\">");
    chart(
        b,
        &format!("Calls and errors per {unit_name}"),
        "chart-calls",
        &points,
        &[
            ("calls", "s-calls", &|p: &Point| p.calls),
            ("errors", "s-errors", &|p: &Point| p.errors),
        ],
        false,
        &|v| html::count(v as u64),
    );
    // Errors again on their own scale: a few percent of the calls hardly
    // show beside them.
    chart(
        b,
        &format!("Errors per {unit_name}"),
        "chart-errors",
        &points,
        &[("errors", "s-errors", &|p: &Point| p.errors)],
        false,
        &|v| html::count(v as u64),
    );
    chart(
        b,
        &format!("Latency p50 / p95 / p99 per {unit_name}"),
        "chart-latency",
        &points,
        &[
            ("p50", "s-p50", &|p: &Point| p.p[0]),
            ("p95", "s-p95", &|p: &Point| p.p[1]),
            ("p99", "s-p99", &|p: &Point| p.p[2]),
        ],
        true,
        &html::duration,
    );
    chart(
        b,
        &format!("Tokens per {unit_name}"),
        "chart-tokens",
        &points,
        &[("tokens", "s-tokens", &|p: &Point| p.tokens)],
        false,
        &|v| html::count(v as u64),
    );
    chart(
        b,
        &format!("Cost per {unit_name}"),
        "chart-cost",
        &points,
        &[("cost", "s-cost", &|p: &Point| p.cost)],
        false,
        &html::usd,
    );
    b.push_str("</div>");
}

type Series<'a> = (&'a str, &'a str, &'a dyn Fn(&Point) -> f64);

#[allow(clippy::too_many_arguments)]
fn chart(
    b: &mut String,
    title: &str,
    id: &str,
    points: &[Point],
    series: &[Series<'_>],
    lines: bool,
    fmt: &dyn Fn(f64) -> String,
) {
    const W: f64 = 600.0;
    const H: f64 = 160.0;
    let max = points
        .iter()
        .flat_map(|p| series.iter().map(move |s| (s.2)(p)))
        .fold(0.0f64, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let n = points.len().max(1) as f64;
    let step = W / n;
    let y = |v: f64| H - v / max * H;
    let _ = write!(
        b,
        "<figure class=\"chart\" id=\"{id}\"><figcaption>{}</figcaption>\
         <svg viewBox=\"-60 -10 680 200\" role=\"img\" aria-label=\"{}\">\
         <line class=\"axis\" x1=\"0\" y1=\"{H}\" x2=\"{W}\" y2=\"{H}\"/>\
         <line class=\"axis\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"{H}\"/>\
         <text class=\"tick\" x=\"-4\" y=\"6\" text-anchor=\"end\">{}</text>\
         <text class=\"tick\" x=\"-4\" y=\"{H}\" text-anchor=\"end\">0</text>",
        esc(title),
        esc(title),
        esc(&fmt(max))
    );
    for (k, (name, class, f)) in series.iter().enumerate() {
        if lines {
            let pts: Vec<String> = points
                .iter()
                .enumerate()
                .filter(|(_, p)| p.calls > 0.0)
                .map(|(i, p)| format!("{:.1},{:.1}", (i as f64 + 0.5) * step, y(f(p))))
                .collect();
            let _ = write!(
                b,
                "<polyline class=\"{class}\" fill=\"none\" points=\"{}\"><title>{}</title></polyline>",
                pts.join(" "),
                esc(name)
            );
        } else {
            // Bars: each series drawn over the previous (errors over calls).
            for (i, p) in points.iter().enumerate() {
                let v = f(p);
                if v <= 0.0 {
                    continue;
                }
                let inset = if k == 0 { 0.1 } else { 0.25 };
                let _ = write!(
                    b,
                    "<rect class=\"{class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\">\
                     <title>{} · {name} {}</title></rect>",
                    i as f64 * step + step * inset,
                    y(v),
                    (step * (1.0 - 2.0 * inset)).max(0.5),
                    H - y(v),
                    html::time(p.start),
                    esc(&fmt(v)),
                );
            }
        }
    }
    let last = points.last().map_or(0, |p| p.start);
    let first = points.first().map_or(0, |p| p.start);
    let _ = write!(
        b,
        "<text class=\"tick\" x=\"0\" y=\"{}\">{}</text><text class=\"tick\" x=\"{W}\" y=\"{}\" text-anchor=\"end\">{}</text></svg>",
        H + 18.0,
        html::time(first),
        H + 18.0,
        html::time(last)
    );
    b.push_str("<div class=\"legend\">");
    for (name, class, _) in series {
        let _ = write!(b, "<span class=\"key {class}\"></span>{} ", esc(name));
    }
    b.push_str("</div></figure>");
}
