//! Scores: the lines of the `.scores.jsonl` file beside a saved
//! conversation and the `"type": "score"` lines of a JSON log, merged per
//! call, and how the views show them.

use std::fmt::Write as _;

use llm_traced_runtime::score::ScoreLine;

use super::html::esc;

/// A scores file's suffix (`…_<request id>.scores.jsonl`).
pub const FILE_SUFFIX: &str = ".scores.jsonl";

/// Reads one line as a score: `None` when it is not one (a call record,
/// a malformed or half-written line).
pub fn parse_line(line: &[u8]) -> Option<ScoreLine> {
    memchr::memmem::find(line, b"\"score\"")?;
    serde_json::from_slice::<ScoreLine>(line)
        .ok()
        .filter(|s| s.kind == "score" && !s.request_id.is_empty())
}

/// The scores of a scores file's text; lines that are not scores are skipped.
pub fn parse_text(text: &[u8]) -> Vec<ScoreLine> {
    text.split(|&b| b == b'\n').filter_map(parse_line).collect()
}

/// One call's scores from both sources, each score once (a program that
/// writes a log and saves conversations writes each score to both), oldest
/// first.
pub fn merge(file: &[ScoreLine], log: &[ScoreLine]) -> Vec<ScoreLine> {
    let mut out: Vec<ScoreLine> = Vec::with_capacity(file.len() + log.len());
    for s in file.iter().chain(log) {
        if !out.iter().any(|o| same(o, s)) {
            out.push(s.clone());
        }
    }
    out.sort_by_key(|s| s.scored_at);
    out
}

fn same(a: &ScoreLine, b: &ScoreLine) -> bool {
    a.name == b.name
        && a.scored_at == b.scored_at
        && a.value.map(f64::to_bits) == b.value.map(f64::to_bits)
        && a.label == b.label
        && a.comment == b.comment
        && a.author == b.author
}

/// A score's value for people: the label, `yes`/`no`, or the number.
pub fn value_text(s: &ScoreLine) -> String {
    match (s.value, s.label.as_deref()) {
        (Some(1.0), Some("true")) => "yes".to_owned(),
        (Some(0.0), Some("false")) => "no".to_owned(),
        (_, Some(label)) => label.to_owned(),
        (Some(x), None) => format!("{x}"),
        (None, None) => "–".to_owned(),
    }
}

/// The compact cell of a list or a tree: `name=mean` (yes/no as 1/0) or
/// `name=label` per score name, as `llm-traced ls` shows them; HTML.
pub fn cell(scores: &[ScoreLine]) -> String {
    esc(&crate::ls::score_cell(scores))
}

/// A call's compact scores as a span after its name (trace tree, session
/// turns), from the index; nothing when it has none.
pub fn span(scores: &[ScoreLine]) -> String {
    if scores.is_empty() {
        return String::new();
    }
    format!(
        " <span class=\"scores-cell\" title=\"scores\">{}</span>",
        cell(scores)
    )
}

/// The call page's scores section, oldest first (nothing when none).
pub fn section(b: &mut String, scores: &[ScoreLine]) {
    if scores.is_empty() {
        return;
    }
    b.push_str(
        "<section class=\"scores\" id=\"scores\"><h2>Scores</h2><table class=\"small-table\">\
         <tr><th>score</th><th>value</th><th>comment</th><th>author</th><th>when (UTC)</th></tr>",
    );
    for s in scores {
        let _ = write!(
            b,
            "<tr class=\"score\"><td>{}</td><td class=\"score-value\">{}</td><td>{}</td><td>{}</td><td class=\"time\">{}</td></tr>",
            esc(&s.name),
            esc(&value_text(s)),
            s.comment.as_deref().map_or_else(String::new, esc),
            s.author.as_deref().map_or_else(String::new, esc),
            s.scored_at.format("%Y-%m-%d %H:%M:%S"),
        );
    }
    b.push_str("</table></section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, value: Option<f64>, label: Option<&str>, at: &str) -> ScoreLine {
        ScoreLine {
            kind: "score".into(),
            name: name.into(),
            value,
            label: label.map(str::to_owned),
            comment: None,
            author: None,
            scored_at: at.parse().unwrap_or_default(),
            request_id: "r".into(),
            trace_id: None,
            span_id: None,
            function: None,
            model: None,
            response_id: None,
            tenant_id: None,
        }
    }

    #[test]
    fn values_read_as_numbers_labels_and_yes_no() {
        let at = "2026-11-27T09:00:00Z";
        assert_eq!(value_text(&line("a", Some(0.5), None, at)), "0.5");
        assert_eq!(value_text(&line("a", None, Some("correct"), at)), "correct");
        assert_eq!(value_text(&line("a", Some(1.0), Some("true"), at)), "yes");
        assert_eq!(value_text(&line("a", Some(0.0), Some("false"), at)), "no");
    }

    #[test]
    fn both_sources_merge_once_oldest_first() {
        let a = line("a", Some(1.0), None, "2026-11-27T09:00:02Z");
        let b = line("b", None, Some("x"), "2026-11-27T09:00:01Z");
        let merged = merge(&[a.clone(), b.clone()], std::slice::from_ref(&a));
        assert_eq!(merged, vec![b, a]);
    }

    #[test]
    fn lines_that_are_not_scores_are_skipped() {
        let text = b"{\"type\":\"score\",\"name\":\"a\",\"value\":1,\"scored_at\":\"2026-11-27T09:00:00.000Z\",\"request_id\":\"r\"}\n\
                     not json\n{\"type\":\"score\",\"name\":\n\
                     {\"type\":\"score\",\"name\":\"b\",\"label\":\"ok\",\"scored_at\":\"2026-11-27T09:00:01.000Z\",\"request_id\":\"r\"}\n";
        let scores = parse_text(text);
        assert_eq!(
            scores.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }
}
