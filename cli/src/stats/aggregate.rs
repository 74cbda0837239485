//! `stats`: aggregates of JSON-lines logs: counts, tokens, cost, exact
//! latency percentiles, errors, and breakdowns by model, function and time.
//!
//! Each worker parses its chunks into a [`Partial`]: sums per group and one
//! 16-byte [`Sample`] per record (latency, model id, function id, time
//! bucket), which is all that grows with the input. The partials are merged
//! at the end: each worker sorts its samples by latency when it has read its
//! last chunk, and every percentile of every group is read off in one pass
//! over the sorted lists, merged as they are read.

use serde::Serialize;

use super::line::LineReader;
use super::read::{for_each_line, Chunk};
use crate::when;

/// Which records count, and how to bucket them by time.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only records that started at or after this time (epoch ms).
    pub since: Option<i64>,
    /// Only records that started before this time (epoch ms).
    pub until: Option<i64>,
    /// Only this tenant's records.
    pub tenant: Option<String>,
    /// Bucket by hour or by day.
    pub by: Option<Bucket>,
}

/// The size of a time bucket (`--by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// One bucket per UTC hour.
    Hour,
    /// One bucket per UTC day.
    Day,
}

impl Bucket {
    fn millis(self) -> i64 {
        match self {
            Bucket::Hour => 3_600_000,
            Bucket::Day => 86_400_000,
        }
    }
}

/// Sums over a set of records. Costs and latencies are summed as integers
/// (picodollars, nanoseconds) so that the totals do not depend on the order
/// in which the workers happened to merge. Token, cost and latency sums
/// saturate at their type's maximum instead of overflowing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    /// Records.
    pub count: u64,
    /// Records whose status is not `ok`.
    pub errors: u64,
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Records with a token count.
    pub with_usage: u64,
    /// Cost, in 10⁻¹² USD.
    pub cost_pico: u128,
    /// Records with a cost.
    pub with_cost: u64,
    /// Latency, in nanoseconds.
    pub latency_ns: u128,
}

impl Sums {
    // Sums saturate: a valid line can hold a 19-digit token count or a
    // latency of 1e300 ms, and a total past the type's range is shown as
    // its maximum rather than wrapping (or panicking in a debug build).
    fn add(&mut self, r: &Parsed) {
        self.count += 1;
        self.errors += u64::from(r.is_error);
        if r.input.is_some() || r.output.is_some() {
            self.with_usage += 1;
            self.input = self.input.saturating_add(r.input.unwrap_or(0));
            self.output = self.output.saturating_add(r.output.unwrap_or(0));
        }
        if let Some(c) = r.cost_pico {
            self.cost_pico = self.cost_pico.saturating_add(c);
            self.with_cost += 1;
        }
        self.latency_ns = self.latency_ns.saturating_add(r.latency_ns);
    }

    fn merge(&mut self, o: &Sums) {
        self.count += o.count;
        self.errors += o.errors;
        self.input = self.input.saturating_add(o.input);
        self.output = self.output.saturating_add(o.output);
        self.with_usage += o.with_usage;
        self.cost_pico = self.cost_pico.saturating_add(o.cost_pico);
        self.with_cost += o.with_cost;
        self.latency_ns = self.latency_ns.saturating_add(o.latency_ns);
    }

    fn cost_usd(&self) -> f64 {
        self.cost_pico as f64 / 1e12
    }
}

struct Parsed {
    is_error: bool,
    input: Option<u64>,
    output: Option<u64>,
    cost_pico: Option<u128>,
    latency_ns: u128,
}

/// One record as kept for the percentiles: 16 bytes. The latency is kept
/// whole (`f64`), so that the percentiles are the logged values exactly.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Latency in milliseconds, as logged.
    pub latency: f64,
    /// Model id in the partial's interner.
    pub model: u16,
    /// Function id in the partial's interner.
    pub function: u16,
    /// Time bucket: hours or days since the epoch (0 without `--by`).
    pub bucket: u32,
}

/// A map with a fast, non-cryptographic hasher for the few distinct names.
type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// Names to small ids. Past 65,535 distinct names, the rest share the id of
/// `(other)`.
#[derive(Default)]
struct Interner {
    ids: FastMap<Box<[u8]>, u16>,
    names: Vec<Box<[u8]>>,
}

const OTHER: u16 = u16::MAX;

impl Interner {
    fn id(&mut self, name: &[u8]) -> u16 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        if self.names.len() >= usize::from(OTHER) {
            return OTHER;
        }
        let id = self.names.len() as u16;
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    fn name(&self, id: u16) -> String {
        self.names.get(usize::from(id)).map_or_else(
            || "(other)".to_owned(),
            |n| String::from_utf8_lossy(n).into_owned(),
        )
    }
}

/// What one chunk's lines were, for line numbers in messages.
#[derive(Debug, Clone)]
struct ChunkLines {
    source: usize,
    seq: u64,
    lines: u32,
    /// The first few bad lines, as indexes within the chunk.
    bad: Vec<u32>,
}

/// How many bad line numbers a report shows.
pub const BAD_EXAMPLES: usize = 5;

/// One worker's aggregates.
pub struct Partial<'f> {
    filter: &'f Filter,
    reader: LineReader,
    total: Sums,
    error_types: FastMap<Box<[u8]>, u64>,
    models: Interner,
    functions: Interner,
    model_sums: Vec<Sums>,
    function_sums: Vec<Sums>,
    buckets: FastMap<u32, Sums>,
    samples: Vec<Sample>,
    /// Whether `samples` is sorted by latency ([`Partial::finish`]).
    sorted: bool,
    chunks: Vec<ChunkLines>,
    bad: u64,
    filtered: u64,
    /// The first and last start, epoch microseconds.
    first_us: i64,
    last_us: i64,
    /// Scores (`"type": "score"` lines) per (name, model).
    scores: std::collections::BTreeMap<(String, String), ScoreSums>,
}

/// One score name's sums for one model.
#[derive(Debug, Clone, Copy, Default)]
struct ScoreSums {
    count: u64,
    numbers: u64,
    sum: f64,
}

/// The fields of a score line that `stats` reads.
#[derive(serde::Deserialize)]
struct ScoreFields {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    tenant_id: Option<String>,
    scored_at: String,
}

impl<'f> Partial<'f> {
    /// Empty aggregates for records passing `filter`.
    pub fn new(filter: &'f Filter) -> Self {
        Partial {
            filter,
            reader: LineReader::default(),
            total: Sums::default(),
            error_types: FastMap::default(),
            models: Interner::default(),
            functions: Interner::default(),
            model_sums: Vec::new(),
            function_sums: Vec::new(),
            buckets: FastMap::default(),
            samples: Vec::new(),
            sorted: true,
            chunks: Vec::new(),
            bad: 0,
            filtered: 0,
            first_us: i64::MAX,
            last_us: i64::MIN,
            scores: Default::default(),
        }
    }

    /// Adds a score line (`"type": "score"`); false when the line is not one.
    fn add_score(&mut self, line: &[u8]) -> bool {
        if memchr::memmem::find(line, b"\"score\"").is_none() {
            return false;
        }
        let Ok(score) = serde_json::from_slice::<ScoreFields>(line) else {
            return false;
        };
        if score.kind != "score" {
            return false;
        }
        let Some(at) = when::rfc3339_millis_bytes(score.scored_at.as_bytes()) else {
            return false;
        };
        let f = self.filter;
        if f.since.is_some_and(|s| at < s)
            || f.until.is_some_and(|u| at >= u)
            || f.tenant
                .as_deref()
                .is_some_and(|t| score.tenant_id.as_deref() != Some(t))
        {
            return true;
        }
        let model = score.model.unwrap_or_else(|| "(none)".to_owned());
        let sums = self.scores.entry((score.name, model)).or_default();
        sums.count += 1;
        if let Some(x) = score.value.filter(|x| x.is_finite()) {
            sums.numbers += 1;
            sums.sum += x;
        }
        true
    }

    /// Adds every line of a chunk.
    pub fn add_chunk(&mut self, chunk: &Chunk) {
        if chunk.overlong {
            // One line too long to keep: one line that is not a record.
            self.bad += 1;
            self.chunks.push(ChunkLines {
                source: chunk.source,
                seq: chunk.seq,
                lines: 1,
                bad: vec![0],
            });
            return;
        }
        let mut bad = Vec::new();
        let lines = for_each_line(&chunk.data, |index, line| {
            if !self.add_line(line) {
                self.bad += 1;
                if bad.len() < BAD_EXAMPLES {
                    bad.push(index);
                }
            }
        });
        self.chunks.push(ChunkLines {
            source: chunk.source,
            seq: chunk.seq,
            lines,
            bad,
        });
    }

    /// Sorts the samples by latency, for [`merge`]: each worker does it for
    /// its own as soon as it has read its last chunk.
    pub fn finish(&mut self) {
        if !self.sorted {
            // Latencies are never negative: their bits sort like their values.
            self.samples.sort_unstable_by_key(|s| s.latency.to_bits());
            self.sorted = true;
        }
    }

    /// Adds one line; false when it is not a record (blank lines are fine).
    fn add_line(&mut self, line: &[u8]) -> bool {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return true;
        }
        let Some(rec) = self.reader.read(line) else {
            return self.add_score(line);
        };
        let Some(started_us) = when::rfc3339_micros_bytes(&rec.started_at) else {
            return false;
        };
        let started = started_us.div_euclid(1000);
        if !rec.latency_ms.is_finite() {
            return false;
        }
        let f = self.filter;
        if f.since.is_some_and(|s| started < s)
            || f.until.is_some_and(|u| started >= u)
            || f.tenant
                .as_deref()
                .is_some_and(|t| rec.tenant_id.as_deref() != Some(t.as_bytes()))
        {
            self.filtered += 1;
            return true;
        }
        let is_error = *rec.status != *b"ok";
        if is_error {
            let kind: &[u8] = match (&rec.error_type, rec.status.as_ref()) {
                (Some(t), _) => t,
                (_, b"error") => b"unknown",
                (_, status) => status,
            };
            match self.error_types.get_mut(kind) {
                Some(n) => *n += 1,
                None => {
                    self.error_types.insert(kind.into(), 1);
                }
            }
        }
        // `max` also turns -0.0 into 0.0, so that bits sort like values.
        let latency = rec.latency_ms.max(0.0) + 0.0;
        let parsed = Parsed {
            is_error,
            input: rec.input_tokens,
            output: rec.output_tokens,
            cost_pico: rec
                .cost_usd
                .filter(|c| c.is_finite() && *c >= 0.0)
                .map(|c| (c * 1e12).round() as u128),
            latency_ns: (latency * 1e6).round() as u128,
        };
        let model = rec
            .request_model
            .as_deref()
            .or(rec.response_model.as_deref())
            .unwrap_or(b"(none)");
        let model = self.models.id(model);
        let function = self
            .functions
            .id(rec.function.as_deref().unwrap_or(b"(none)"));
        grow_add(&mut self.model_sums, model, &parsed);
        grow_add(&mut self.function_sums, function, &parsed);
        self.total.add(&parsed);
        let bucket = match f.by {
            Some(unit) => {
                let key = started
                    .div_euclid(unit.millis())
                    .clamp(0, i64::from(u32::MAX)) as u32;
                self.buckets.entry(key).or_default().add(&parsed);
                key
            }
            None => 0,
        };
        self.first_us = self.first_us.min(started_us);
        self.last_us = self.last_us.max(started_us);
        self.sorted = false;
        self.samples.push(Sample {
            latency,
            model,
            function,
            bucket,
        });
        true
    }
}

fn grow_add(sums: &mut Vec<Sums>, id: u16, r: &Parsed) {
    let i = usize::from(id);
    if sums.len() <= i {
        sums.resize(i + 1, Sums::default());
    }
    sums[i].add(r);
}

/// The nearest-rank percentile's index in a sorted list of `n` values: the
/// smallest value with at least `p`% of the values at or below it (what
/// DuckDB's `quantile_disc` returns).
pub fn rank(n: u64, p: u64) -> u64 {
    (n * p).div_ceil(100).max(1) - 1
}

/// The report `stats` prints, and its `--json` schema.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The inputs read.
    pub inputs: Vec<String>,
    /// Records counted (after the filters).
    pub records: u64,
    /// Records left out by `--since`, `--until` or `--tenant`.
    pub filtered_out: u64,
    /// Lines that are not records.
    pub bad_lines: u64,
    /// Where the first few bad lines are: `file:line`.
    pub bad_line_examples: Vec<String>,
    /// The earliest `started_at` counted.
    pub first_started_at: Option<String>,
    /// The latest `started_at` counted.
    pub last_started_at: Option<String>,
    /// Token counts.
    pub tokens: Tokens,
    /// Cost.
    pub cost: Cost,
    /// Latency, absent when there are no records.
    pub latency_ms: Option<Latency>,
    /// Errors.
    pub errors: Errors,
    /// Per model (the model asked for, else the one that answered).
    pub by_model: Vec<Group>,
    /// Per function.
    pub by_function: Vec<Group>,
    /// Per hour or day, with `--by`.
    pub by_time: Option<ByTime>,
    /// Scores (`"type": "score"` lines), per name and model.
    pub scores: Vec<ScoreGroup>,
}

/// One score name for one model.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreGroup {
    /// The score's name.
    pub name: String,
    /// The scored calls' model.
    pub model: String,
    /// Scores given.
    pub count: u64,
    /// The mean of the numeric ones (yes/no count as 1/0); none for labels.
    pub mean: Option<f64>,
}

/// Token totals and means.
#[derive(Debug, Clone, Serialize)]
pub struct Tokens {
    /// Records that reported a token count (the means divide by this).
    pub calls_with_usage: u64,
    /// Input tokens in all.
    pub input_total: u64,
    /// Input tokens per call that reported usage.
    pub input_mean: f64,
    /// Output tokens in all.
    pub output_total: u64,
    /// Output tokens per call that reported usage.
    pub output_mean: f64,
}

/// Cost totals.
#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    /// Estimated cost, USD.
    pub total_usd: f64,
    /// Records with a cost (a model the price table knows).
    pub calls_with_cost: u64,
    /// Records without one.
    pub calls_without_cost: u64,
}

/// Latency statistics, in milliseconds; percentiles are exact (nearest rank).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

/// Errors: records whose status is not `ok`.
#[derive(Debug, Clone, Serialize)]
pub struct Errors {
    /// How many.
    pub count: u64,
    /// As a fraction of the records (0 to 1).
    pub rate: f64,
    /// By `error.type` (or the status: `panic`, `cancelled`), most frequent first.
    pub by_type: Vec<ErrorType>,
}

/// One error type's count.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorType {
    /// The type.
    #[serde(rename = "type")]
    pub error_type: String,
    /// How many.
    pub count: u64,
}

/// One model's or function's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// The model or function.
    pub name: String,
    /// Records.
    pub count: u64,
    /// Errors among them.
    pub errors: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cost, USD.
    pub cost_usd: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 95th percentile latency, ms.
    pub p95_ms: f64,
}

/// The trend over time.
#[derive(Debug, Clone, Serialize)]
pub struct ByTime {
    /// `hour` or `day`.
    pub unit: Bucket,
    /// The buckets that have records, oldest first.
    pub buckets: Vec<TimeBucket>,
}

/// One hour's or day's figures.
#[derive(Debug, Clone, Serialize)]
pub struct TimeBucket {
    /// The bucket's start (RFC 3339, UTC).
    pub start: String,
    /// Records.
    pub count: u64,
    /// Errors among them.
    pub errors: u64,
    /// Input plus output tokens.
    pub tokens: u64,
    /// Cost, USD.
    pub cost_usd: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 95th percentile latency, ms.
    pub p95_ms: f64,
}

/// Exact percentiles of several groups from samples sorted by latency.
struct GroupRanks {
    targets: Vec<[u64; 3]>,
    seen: Vec<u64>,
    found: Vec<[f64; 3]>,
}

impl GroupRanks {
    fn new(counts: impl Iterator<Item = u64>, ps: [u64; 3]) -> Self {
        let targets: Vec<[u64; 3]> = counts.map(|n| ps.map(|p| rank(n, p))).collect();
        let len = targets.len();
        GroupRanks {
            targets,
            seen: vec![0; len],
            found: vec![[0.0; 3]; len],
        }
    }

    fn see(&mut self, group: usize, latency: f64) {
        let Some(seen) = self.seen.get_mut(group) else {
            return;
        };
        for (k, &t) in self.targets[group].iter().enumerate() {
            if *seen == t {
                self.found[group][k] = latency;
            }
        }
        *seen += 1;
    }
}

/// Merges the workers' partials into the report.
pub fn merge(mut parts: Vec<Partial<'_>>, labels: &[String], filter: &Filter) -> Report {
    // Each worker's samples are sorted (on its own thread, see `finish`),
    // then read in one merged pass: no copy of them all, no sort of them all.
    for part in &mut parts {
        part.finish();
    }
    let mut parts = parts.into_iter();
    let Some(mut all) = parts.next() else {
        return merge(vec![Partial::new(filter)], labels, filter);
    };
    let mut runs = vec![std::mem::take(&mut all.samples)];
    for part in parts {
        runs.push(absorb(&mut all, part));
    }

    // Line numbers of the first bad lines.
    all.chunks.sort_by_key(|c| (c.source, c.seq));
    let mut examples = Vec::new();
    let mut line_base = 0u64;
    let mut current = usize::MAX;
    for c in &all.chunks {
        if c.source != current {
            current = c.source;
            line_base = 0;
        }
        for &b in &c.bad {
            if examples.len() < BAD_EXAMPLES {
                let label = labels.get(c.source).map_or("?", String::as_str);
                examples.push(format!("{label}:{}", line_base + u64::from(b) + 1));
            }
        }
        line_base += u64::from(c.lines);
    }

    let n: u64 = runs.iter().map(|r| r.len() as u64).sum();
    let mut bucket_keys: Vec<u32> = all.buckets.keys().copied().collect();
    bucket_keys.sort_unstable();
    let mut overall = GroupRanks::new(std::iter::once(n), [50, 95, 99]);
    let mut models = GroupRanks::new(all.model_sums.iter().map(|s| s.count), [50, 95, 99]);
    let mut functions = GroupRanks::new(all.function_sums.iter().map(|s| s.count), [50, 95, 99]);
    let mut buckets = GroupRanks::new(
        bucket_keys
            .iter()
            .map(|k| all.buckets.get(k).map_or(0, |s| s.count)),
        [50, 95, 99],
    );
    let mut max = 0.0;
    for_each_sorted(&runs, |s| {
        overall.see(0, s.latency);
        models.see(usize::from(s.model), s.latency);
        functions.see(usize::from(s.function), s.latency);
        if filter.by.is_some() {
            if let Ok(i) = bucket_keys.binary_search(&s.bucket) {
                buckets.see(i, s.latency);
            }
        }
        max = s.latency;
    });
    drop(runs);

    let t = &all.total;
    let latency = (n > 0).then(|| {
        let [p50, p95, p99] = overall.found[0];
        Latency {
            mean: t.latency_ns as f64 / 1e6 / n as f64,
            p50,
            p95,
            p99,
            max,
        }
    });

    let mean = |sum: u64, k: u64| {
        if k == 0 {
            0.0
        } else {
            (sum as f64 / k as f64 * 100.0).round() / 100.0
        }
    };
    // Ties broken on the raw bytes too (see `groups` below).
    let mut by_type: Vec<(&[u8], u64)> =
        all.error_types.iter().map(|(k, &v)| (&k[..], v)).collect();
    by_type.sort_by_cached_key(|&(k, v)| (std::cmp::Reverse(v), String::from_utf8_lossy(k), k));
    let by_type: Vec<ErrorType> = by_type
        .into_iter()
        .map(|(k, v)| ErrorType {
            error_type: String::from_utf8_lossy(k).into_owned(),
            count: v,
        })
        .collect();

    let groups = |names: &Interner, sums: &[Sums], ranks: &GroupRanks| {
        // With each group, its name's bytes: two names that are not UTF-8
        // can read the same once their bad bytes are replaced, and their
        // order must not depend on which worker saw which first.
        let mut out: Vec<(Group, Option<&[u8]>)> = sums
            .iter()
            .enumerate()
            .filter(|(_, s)| s.count > 0)
            .map(|(i, s)| {
                let group = Group {
                    name: names.name(i as u16),
                    count: s.count,
                    errors: s.errors,
                    input_tokens: s.input,
                    output_tokens: s.output,
                    cost_usd: round_cost(s.cost_usd()),
                    p50_ms: ranks.found[i][0],
                    p95_ms: ranks.found[i][1],
                };
                (group, names.names.get(i).map(|n| &n[..]))
            })
            .collect();
        out.sort_by(|(a, a_bytes), (b, b_bytes)| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a_bytes.cmp(b_bytes))
        });
        out.into_iter().map(|(group, _)| group).collect::<Vec<_>>()
    };
    let by_model = groups(&all.models, &all.model_sums, &models);
    let by_function = groups(&all.functions, &all.function_sums, &functions);
    let by_time = filter.by.map(|unit| ByTime {
        unit,
        buckets: bucket_keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let s = all.buckets.get(k).copied().unwrap_or_default();
                TimeBucket {
                    start: when::format_millis(i64::from(*k) * unit.millis()),
                    count: s.count,
                    errors: s.errors,
                    tokens: s.input.saturating_add(s.output),
                    cost_usd: round_cost(s.cost_usd()),
                    p50_ms: buckets.found[i][0],
                    p95_ms: buckets.found[i][1],
                }
            })
            .collect(),
    });

    Report {
        inputs: labels.to_vec(),
        records: t.count,
        filtered_out: all.filtered,
        bad_lines: all.bad,
        bad_line_examples: examples,
        scores: std::mem::take(&mut all.scores)
            .into_iter()
            .map(|((name, model), s)| ScoreGroup {
                name,
                model,
                count: s.count,
                mean: (s.numbers > 0).then(|| s.sum / s.numbers as f64),
            })
            .collect(),
        first_started_at: (t.count > 0).then(|| when::format_micros(all.first_us)),
        last_started_at: (t.count > 0).then(|| when::format_micros(all.last_us)),
        tokens: Tokens {
            calls_with_usage: t.with_usage,
            input_total: t.input,
            input_mean: mean(t.input, t.with_usage),
            output_total: t.output,
            output_mean: mean(t.output, t.with_usage),
        },
        cost: Cost {
            total_usd: round_cost(t.cost_usd()),
            calls_with_cost: t.with_cost,
            calls_without_cost: t.count - t.with_cost,
        },
        latency_ms: latency,
        errors: Errors {
            count: t.errors,
            rate: if t.count == 0 {
                0.0
            } else {
                t.errors as f64 / t.count as f64
            },
            by_type,
        },
        by_model,
        by_function,
        by_time,
    }
}

/// Costs to 10⁻⁹ USD, which hides the binary noise of the float.
fn round_cost(usd: f64) -> f64 {
    (usd * 1e9).round() / 1e9
}

/// Calls `f` on every sample of the sorted `runs`, in latency order.
fn for_each_sorted(runs: &[Vec<Sample>], mut f: impl FnMut(&Sample)) {
    let mut heads: Vec<std::slice::Iter<'_, Sample>> = runs.iter().map(|r| r.iter()).collect();
    let mut next: Vec<Option<&Sample>> = heads.iter_mut().map(Iterator::next).collect();
    loop {
        let mut best: Option<(usize, u64)> = None;
        for (r, s) in next.iter().enumerate() {
            if let Some(s) = s {
                let key = s.latency.to_bits();
                if best.is_none_or(|(_, b)| key < b) {
                    best = Some((r, key));
                }
            }
        }
        let Some((r, _)) = best else { return };
        if let Some(s) = next[r] {
            f(s);
        }
        next[r] = heads[r].next();
    }
}

/// Moves `part` into `all`, mapping its ids to `all`'s, except its samples:
/// those are returned, with their ids mapped and in their order.
fn absorb(all: &mut Partial<'_>, mut part: Partial<'_>) -> Vec<Sample> {
    let remap = |into: &mut Interner, from: &Interner| -> Vec<u16> {
        (0..from.names.len())
            .map(|i| into.id(&from.names[i]))
            .chain(std::iter::once(OTHER))
            .collect()
    };
    let model_map = remap(&mut all.models, &part.models);
    let function_map = remap(&mut all.functions, &part.functions);
    let lookup = |map: &[u16], id: u16| map.get(usize::from(id)).copied().unwrap_or(OTHER);
    for (i, s) in part.model_sums.iter().enumerate() {
        merge_into(&mut all.model_sums, lookup(&model_map, i as u16), s);
    }
    for (i, s) in part.function_sums.iter().enumerate() {
        merge_into(&mut all.function_sums, lookup(&function_map, i as u16), s);
    }
    for s in &mut part.samples {
        s.model = lookup(&model_map, s.model);
        s.function = lookup(&function_map, s.function);
    }
    all.total.merge(&part.total);
    for (k, v) in part.error_types {
        *all.error_types.entry(k).or_default() += v;
    }
    for (k, v) in part.buckets {
        all.buckets.entry(k).or_default().merge(&v);
    }
    all.chunks.extend(part.chunks);
    all.bad += part.bad;
    all.filtered += part.filtered;
    for (k, v) in part.scores {
        let sums = all.scores.entry(k).or_default();
        sums.count += v.count;
        sums.numbers += v.numbers;
        sums.sum += v.sum;
    }
    all.first_us = all.first_us.min(part.first_us);
    all.last_us = all.last_us.max(part.last_us);
    part.samples
}

fn merge_into(sums: &mut Vec<Sums>, id: u16, s: &Sums) {
    let i = usize::from(id);
    if sums.len() <= i {
        sums.resize(i + 1, Sums::default());
    }
    sums[i].merge(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        assert_eq!(rank(10, 50), 4);
        assert_eq!(rank(10, 95), 9);
        assert_eq!(rank(20, 95), 18);
        assert_eq!(rank(1, 99), 0);
        assert_eq!(rank(100, 99), 98);
        assert_eq!(rank(101, 99), 99);
    }

    #[test]
    fn sorted_runs_are_read_in_latency_order() {
        let run = |latencies: &[f64]| -> Vec<Sample> {
            latencies
                .iter()
                .map(|&latency| Sample {
                    latency,
                    model: 0,
                    function: 0,
                    bucket: 0,
                })
                .collect()
        };
        let runs = [
            run(&[0.0, 2.5, 2.5, 9.0]),
            run(&[]),
            run(&[1.0, 2.5, 100.0]),
            run(&[0.5]),
        ];
        let mut seen = Vec::new();
        for_each_sorted(&runs, |s| seen.push(s.latency));
        assert_eq!(seen, [0.0, 0.5, 1.0, 2.5, 2.5, 2.5, 9.0, 100.0]);
        for_each_sorted(&[], |_| panic!("no samples"));
    }

    #[test]
    fn names_that_read_the_same_are_ordered_by_their_bytes() {
        // Two functions and two error types whose names differ only in
        // bytes that are not UTF-8: their order must not depend on which
        // worker met which first.
        let line = |function: &[u8], error: &[u8], latency: &[u8]| -> Vec<u8> {
            let mut l = br#"{"function":""#.to_vec();
            l.extend_from_slice(function);
            l.extend_from_slice(
                br#"","started_at":"2026-11-27T09:26:47Z","status":"error","latency_ms":"#,
            );
            l.extend_from_slice(latency);
            l.extend_from_slice(br#","error":{"type":""#);
            l.extend_from_slice(error);
            l.extend_from_slice(br#""}}"#);
            l
        };
        let a = line(b"f\xff", b"e\xff", b"1");
        let b = line(b"f\xfe", b"e\xfe", b"2");
        let c = line(b"f\xfe", b"e\xfe", b"3");
        let filter = Filter::default();
        // The same lines, split differently between two workers.
        let report = |one_lines: &[&[u8]], two_lines: &[&[u8]]| {
            let mut one = Partial::new(&filter);
            let mut two = Partial::new(&filter);
            for l in one_lines {
                assert!(one.add_line(l));
            }
            for l in two_lines {
                assert!(two.add_line(l));
            }
            let report = merge(vec![one, two], &[], &filter);
            serde_json::to_string(&report).unwrap_or_default()
        };
        let (a, b, c) = (&a[..], &b[..], &c[..]);
        assert_eq!(report(&[a, a, b], &[c]), report(&[b, a], &[a, c]));
        assert_eq!(report(&[a, a, b], &[c]), report(&[c], &[b, a, a]));
    }

    #[test]
    fn an_overlong_line_is_one_bad_line_with_its_number() {
        use crate::stats::read::{scan, ReadOptions, Source};
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("log.jsonl");
        let good = r#"{"started_at":"2026-11-27T09:26:47Z","status":"ok","latency_ms":1}"#;
        let mut text = String::new();
        for i in 1..=400 {
            match i {
                // Two lines past `max_line`, one without a newline at all.
                100 => text.push_str(&"\0".repeat(30_000)),
                300 => text.push_str(&format!("{{\"blob\":\"{}\"}}", "z".repeat(9_000))),
                301 => text.push_str("not json"),
                _ => text.push_str(good),
            }
            text.push('\n');
        }
        text.push_str(&"\0".repeat(30_000));
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
        let options = ReadOptions {
            chunk_size: 4096,
            max_line: 8192,
            progress_from: None,
        };
        let filter = Filter::default();
        let parts = scan(
            &[Source::File(path)],
            &options,
            (0..3).map(|_| Partial::new(&filter)).collect(),
            Partial::add_chunk,
            Partial::finish,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let report = merge(parts, &["log".to_owned()], &filter);
        assert_eq!(report.records, 397);
        assert_eq!(report.bad_lines, 4);
        assert_eq!(
            report.bad_line_examples,
            ["log:100", "log:300", "log:301", "log:401"]
        );
    }

    #[test]
    fn sample_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Sample>(), 16);
    }
}
