//! Presentation helpers: colours (only on a terminal, never with `NO_COLOR`),
//! word wrapping, aligned tables and number formats.

use std::fmt::Write as _;
use std::io::IsTerminal;

/// When to colour the output (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    #[default]
    Auto,
    /// Always, unless NO_COLOR is set.
    Always,
    /// Never.
    Never,
}

/// An ANSI colour or attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    /// Red: errors.
    Red,
    /// Yellow: warnings.
    Yellow,
    /// Green: success.
    Green,
    /// Cyan: roles and names.
    Cyan,
    /// Bold: headers.
    Bold,
    /// Dim: secondary details.
    Dim,
}

impl Paint {
    fn style(self) -> anstyle::Style {
        use anstyle::{AnsiColor, Effects};
        match self {
            Paint::Red => AnsiColor::Red.on_default(),
            Paint::Yellow => AnsiColor::Yellow.on_default(),
            Paint::Green => AnsiColor::Green.on_default(),
            Paint::Cyan => AnsiColor::Cyan.on_default(),
            Paint::Bold => Effects::BOLD.into(),
            Paint::Dim => Effects::DIMMED.into(),
        }
    }
}

/// Whether to write ANSI colour codes, decided once per output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    enabled: bool,
}

impl Style {
    /// Colours for standard output: on a terminal (or with `--color
    /// always`), and never when `NO_COLOR` is set to a non-empty value.
    pub fn for_stdout(choice: ColorChoice) -> Self {
        Self::decide(choice, std::io::stdout().is_terminal())
    }

    /// The decision for a stream that is (or is not) a terminal.
    pub fn decide(choice: ColorChoice, is_terminal: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let enabled = !no_color
            && match choice {
                ColorChoice::Auto => is_terminal,
                ColorChoice::Always => true,
                ColorChoice::Never => false,
            };
        Style { enabled }
    }

    /// No colours at all.
    #[cfg(test)]
    pub fn plain() -> Self {
        Style { enabled: false }
    }

    /// `text` wrapped in the colour's codes, or unchanged when colours are off.
    pub fn paint(self, paint: Paint, text: &str) -> String {
        if self.enabled && !text.is_empty() {
            let style = paint.style();
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }
}

/// The width to fit the output to: `COLUMNS` when set, else the terminal's
/// width when standard output is one, else 80; at least 40.
pub fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&w| w > 0)
        .or_else(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
        .map_or(80, |w| w.max(40))
}

/// The display width of `s` in terminal columns (wide characters count 2).
pub fn text_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// `s` cut to at most `max` characters, with `…` marking the cut.
pub fn truncate(s: &str, max: usize) -> String {
    if text_width(s) <= max {
        return s.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Word-wraps `text` to `width` columns. The first line starts with `first`,
/// the others with `rest`; line breaks in the text are kept, and so is a
/// paragraph's own indentation (code, pretty JSON); a word longer than a
/// line is cut. Every line ends with `\n`.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut outer = first;
    for paragraph in text.split('\n') {
        let paragraph = paragraph.trim_end_matches('\r');
        let lead = paragraph.len() - paragraph.trim_start_matches(' ').len();
        let first_prefix = format!("{outer}{}", &paragraph[..lead]);
        let rest_prefix = format!("{rest}{}", &paragraph[..lead]);
        let body = paragraph.trim_start_matches(' ');
        if body.is_empty() {
            let _ = writeln!(out, "{}", first_prefix.trim_end());
        } else {
            // At least 20 columns of text whatever the prefix.
            let room = width.max(text_width(&first_prefix).max(text_width(&rest_prefix)) + 20);
            let options = textwrap::Options::new(room)
                .initial_indent(&first_prefix)
                .subsequent_indent(&rest_prefix)
                .break_words(true);
            for line in textwrap::wrap(body, options) {
                let _ = writeln!(out, "{line}");
            }
        }
        outer = rest;
    }
    out
}

/// `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let lead = match digits.len() % 3 {
        0 => 3,
        r => r,
    };
    let (head, tail) = digits.split_at(lead.min(digits.len()));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    out.push_str(head);
    for group in tail.as_bytes().chunks(3) {
        out.push(',');
        out.extend(group.iter().map(|&b| char::from(b)));
    }
    out
}

/// A compact count for narrow columns: `950`, `12.3k`, `4.56M`, `7.89G`.
pub fn short_count(n: u64) -> String {
    let x = n as f64;
    if n < 10_000 {
        n.to_string()
    } else if n < 1_000_000 {
        format!("{:.1}k", x / 1e3)
    } else if n < 1_000_000_000 {
        format!("{:.2}M", x / 1e6)
    } else {
        format!("{:.2}G", x / 1e9)
    }
}

/// A latency for people: `0.10 ms`, `950 ms`, `1.25 s`, `2m 05s`.
pub fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        return "?".to_owned();
    }
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        let secs = (ms / 1000.0).round() as u64;
        if secs < 3600 {
            format!("{}m {:02}s", secs / 60, secs % 60)
        } else {
            format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60)
        }
    }
}

/// A cost in USD: `$0.000140` below a cent, `$0.0130` below a dollar,
/// `$3,430.40` above.
pub fn usd(cost: f64) -> String {
    usd_with(cost, usd_decimals(cost))
}

/// How many decimals [`usd`] gives a cost of this size; a column uses the
/// decimals of its largest value, so that its figures line up.
pub fn usd_decimals(cost: f64) -> usize {
    if cost < 0.01 {
        6
    } else if cost < 1.0 {
        4
    } else {
        2
    }
}

/// The decimals for a column of costs: enough for its smallest non-zero
/// figure, at most 2 when it also holds hundreds of dollars.
pub fn usd_column_decimals(costs: impl Iterator<Item = f64>) -> usize {
    let (mut min, mut max) = (f64::INFINITY, 0.0f64);
    for c in costs.filter(|&c| c > 0.0) {
        min = min.min(c);
        max = max.max(c);
    }
    if !min.is_finite() {
        return 2;
    }
    let decimals = usd_decimals(min);
    if max >= 100.0 {
        decimals.min(2)
    } else {
        decimals
    }
}

/// A cost with this many decimals, thousands separated.
pub fn usd_with(cost: f64, decimals: usize) -> String {
    if cost == 0.0 {
        return "$0".to_owned();
    }
    let text = format!("{cost:.decimals$}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let whole = int.parse::<u64>().map_or_else(|_| int.to_owned(), count);
    if frac.is_empty() {
        format!("${whole}")
    } else {
        format!("${whole}.{frac}")
    }
}

/// A fraction as a percentage: `0.0213` → `2.13%`.
pub fn percent(fraction: f64) -> String {
    if fraction.is_finite() {
        format!("{:.2}%", fraction * 100.0)
    } else {
        "-".to_owned()
    }
}

/// A fraction as a percentage with one decimal, for tables: `2.1%`.
pub fn percent1(fraction: f64) -> String {
    if fraction.is_finite() {
        format!("{:.1}%", fraction * 100.0)
    } else {
        "-".to_owned()
    }
}

/// How a table column is aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text: left.
    Left,
    /// Numbers: right.
    Right,
}

/// A column of a [`Table`].
#[derive(Debug, Clone)]
pub struct Column {
    /// The header.
    pub header: &'static str,
    /// The alignment.
    pub align: Align,
    /// Whether the column may be narrowed (its cells cut with `…`) to fit.
    pub shrink: bool,
}

impl Column {
    /// A left-aligned text column that may be narrowed.
    pub fn text(header: &'static str) -> Self {
        Column {
            header,
            align: Align::Left,
            shrink: true,
        }
    }

    /// A left-aligned column that is never narrowed.
    pub fn fixed(header: &'static str) -> Self {
        Column {
            header,
            align: Align::Left,
            shrink: false,
        }
    }

    /// A right-aligned number column.
    pub fn number(header: &'static str) -> Self {
        Column {
            header,
            align: Align::Right,
            shrink: false,
        }
    }
}

/// A plain-text table with aligned columns that fits a width by narrowing
/// its shrinkable columns.
#[derive(Debug, Clone)]
pub struct Table {
    columns: Vec<Column>,
    rows: Vec<(Vec<String>, Option<Paint>)>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: Vec<Column>) -> Self {
        Table {
            columns,
            rows: Vec::new(),
        }
    }

    /// Adds a row (one cell per column), optionally painted.
    pub fn row(&mut self, cells: Vec<String>, paint: Option<Paint>) {
        self.rows.push((cells, paint));
    }

    /// The table as text, at most `width` columns wide when the shrinkable
    /// columns allow it; `indent` starts every line.
    pub fn render(&self, width: usize, indent: &str, style: Style) -> String {
        const GAP: usize = 2;
        let n = self.columns.len();
        let mut widths: Vec<usize> = self.columns.iter().map(|c| text_width(c.header)).collect();
        for (cells, _) in &self.rows {
            for (i, cell) in cells.iter().enumerate().take(n) {
                widths[i] = widths[i].max(text_width(cell));
            }
        }
        let total =
            |w: &[usize]| text_width(indent) + w.iter().sum::<usize>() + GAP * n.saturating_sub(1);
        // Narrow the widest shrinkable column, one character at a time.
        while total(&widths) > width {
            let widest = (0..n)
                .filter(|&i| {
                    self.columns[i].shrink && widths[i] > text_width(self.columns[i].header).max(6)
                })
                .max_by_key(|&i| widths[i]);
            match widest {
                Some(i) => widths[i] -= 1,
                None => break,
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| c.header.to_owned()).collect();
        let line = self.line(&header, &widths);
        let _ = writeln!(out, "{indent}{}", style.paint(Paint::Bold, &line));
        for (cells, paint) in &self.rows {
            let line = self.line(cells, &widths);
            let line = match paint {
                Some(p) => style.paint(*p, &line),
                None => line,
            };
            let _ = writeln!(out, "{indent}{line}");
        }
        out
    }

    fn line(&self, cells: &[String], widths: &[usize]) -> String {
        let mut line = String::new();
        let last = self.columns.len().saturating_sub(1);
        for (i, column) in self.columns.iter().enumerate() {
            let cell = truncate(cells.get(i).map_or("", String::as_str), widths[i]);
            let pad = widths[i] - text_width(&cell);
            match column.align {
                Align::Left if i == last => line.push_str(&cell),
                Align::Left => {
                    line.push_str(&cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                }
                Align::Right => {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(&cell);
                }
            }
            if i != last {
                line.push_str("  ");
            }
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_words_and_cuts_long_ones() {
        let text = "aaa bbb ccc ddd eee fff ggg hhh iii jjj kkk lll mmm nnn ooo ppp";
        let out = wrap(text, 30, "> ", "  ");
        for line in out.lines() {
            assert!(text_width(line) <= 30, "{line:?}");
        }
        assert!(out.starts_with("> aaa"));
        let long = "x".repeat(50);
        let out = wrap(&long, 30, "", "");
        assert_eq!(out.lines().count(), 2);
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(12), "12");
        assert_eq!(duration_ms(0.095979), "0.10 ms");
        assert_eq!(duration_ms(950.4), "950 ms");
        assert_eq!(duration_ms(1250.0), "1.25 s");
        assert_eq!(duration_ms(125_000.0), "2m 05s");
        assert_eq!(usd(0.00014), "$0.000140");
        assert_eq!(usd(12.345), "$12.35");
        assert_eq!(usd(3430.4), "$3,430.40");
        assert_eq!(usd(0.013), "$0.0130");
        assert_eq!(usd_with(0.00304, 4), "$0.0030");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }

    #[test]
    fn tables_fit_the_width() {
        let mut t = Table::new(vec![Column::text("NAME"), Column::number("N")]);
        t.row(vec!["x".repeat(100), "1".into()], None);
        let out = t.render(40, "", Style::plain());
        for line in out.lines() {
            assert!(text_width(line) <= 40);
        }
    }
}
