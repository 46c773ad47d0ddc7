//! A Message as GitHub-flavoured Markdown: the `report.md` a report writes and the file
//! channel's text. Cells are escaped so data (key names) cannot break a table. Pure.

use std::fmt::Write;

use super::clean;
use super::message::{Align, Message, Table};

/// Escape text for a Markdown table cell or line: Markdown punctuation (`|`, `\\`, `*`, `_`,
/// `~`, `` ` ``, `[`, `]`, `<`, `>`, `&`) with a backslash, so data forms no table cell, emphasis,
/// link, autolink, tag or entity (`\\&amp;` shows as typed); hidden characters dropped and line
/// breaks as spaces (`clean::line_char`); bare URLs defused (`clean::defuse_autolinks`).
pub fn escape(s: &str) -> String {
    let line: String = s.chars().filter_map(clean::line_char).collect();
    let mut out = String::with_capacity(line.len());
    for c in clean::defuse_autolinks(&line).chars() {
        match c {
            '|' | '\\' | '*' | '_' | '~' | '`' | '[' | ']' | '<' | '>' | '&' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn write_table(o: &mut String, t: &Table, escape: fn(&str) -> String, left_rule: &str) {
    let head: Vec<String> = t.columns.iter().map(|c| escape(&c.header)).collect();
    let _ = writeln!(o, "| {} |", head.join(" | "));
    let rule: Vec<&str> = t
        .columns
        .iter()
        .map(|c| match c.align {
            Align::Left => left_rule,
            Align::Right => "---:",
        })
        .collect();
    let _ = writeln!(o, "|{}|", rule.join("|"));
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
}

/// A Markdown variant: heading levels, escaping, and whether chart images are linked.
pub struct Dialect {
    /// `#` for the title; sections get one more.
    pub title_heading: &'static str,
    pub section_heading: &'static str,
    pub escape: fn(&str) -> String,
    /// Link each chart as `stem.png` (files beside the text); chat dialects send them apart.
    pub link_charts: bool,
    /// The rule under a left-aligned column's header (`---` or `:---`).
    pub left_rule: &'static str,
}

/// GitHub-flavoured Markdown for files (`report.md`, the file channel).
pub const FILES: Dialect = Dialect {
    title_heading: "#",
    section_heading: "##",
    escape,
    link_charts: true,
    left_rule: "---",
};

/// Render the whole message; charts are referenced as `stem.png` files beside it.
pub fn render(m: &Message) -> String {
    render_with(m, &FILES)
}

/// Render the whole message in a dialect.
pub fn render_with(m: &Message, d: &Dialect) -> String {
    let esc = d.escape;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {} {}",
        d.title_heading,
        m.level.emoji(),
        esc(&m.title)
    );
    if let Some(s) = &m.summary {
        let _ = writeln!(o, "\n{}", esc(s));
    }
    if !m.facts.is_empty() {
        o.push('\n');
        for f in &m.facts {
            let _ = writeln!(o, "- **{}**: {}", esc(&f.label), esc(&f.value));
        }
    }
    for s in &m.sections {
        if s.title.is_empty() {
            o.push('\n');
        } else {
            let _ = writeln!(o, "\n{} {}\n", d.section_heading, esc(&s.title));
        }
        for f in &s.facts {
            let _ = writeln!(o, "- **{}**: {}", esc(&f.label), esc(&f.value));
        }
        if let Some(t) = &s.table {
            write_table(&mut o, t, esc, d.left_rule);
        }
        if let Some(text) = &s.text {
            for line in text.lines() {
                let _ = writeln!(o, "> {}", esc(line));
            }
        }
    }
    if d.link_charts && !m.charts.is_empty() {
        o.push('\n');
        for c in &m.charts {
            let _ = writeln!(o, "![{}]({}.png)", esc(&c.title), c.stem);
        }
    }
    if let Some(f) = &m.footer {
        let _ = writeln!(o, "\n---\n{}", esc(f));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_break_a_table() {
        assert_eq!(escape("a|b*c_<d>\nx"), "a\\|b\\*c\\_\\<d\\> x");
        assert_eq!(escape("&amp; ~~s~~"), "\\&amp; \\~\\~s\\~\\~");
        assert_eq!(
            escape("[x](http://e.x)\u{0}\u{202E}"),
            "\\[x\\](http:\u{200B}//e.x)"
        );
        assert_eq!(escape("研发部-主力"), "研发部-主力");
    }
}
