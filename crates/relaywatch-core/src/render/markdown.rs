//! A Message as GitHub-flavoured Markdown: the `report.md` a report writes and the file
//! channel's text. Cells are escaped so data (key names) cannot break a table. Pure.

use std::fmt::Write;

use super::message::{Align, Message, Table};

/// Escape text for a Markdown table cell or line.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

fn write_table(o: &mut String, t: &Table) {
    let head: Vec<String> = t.columns.iter().map(|c| escape(&c.header)).collect();
    let _ = writeln!(o, "| {} |", head.join(" | "));
    let rule: Vec<&str> = t
        .columns
        .iter()
        .map(|c| match c.align {
            Align::Left => "---",
            Align::Right => "---:",
        })
        .collect();
    let _ = writeln!(o, "|{}|", rule.join("|"));
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
}

/// Render the whole message; charts are referenced as `stem.png` files beside it.
pub fn render(m: &Message) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {} {}", m.level.emoji(), escape(&m.title));
    if let Some(s) = &m.summary {
        let _ = writeln!(o, "\n{}", escape(s));
    }
    if !m.facts.is_empty() {
        o.push('\n');
        for f in &m.facts {
            let _ = writeln!(o, "- **{}**: {}", escape(&f.label), escape(&f.value));
        }
    }
    for s in &m.sections {
        if s.title.is_empty() {
            o.push('\n');
        } else {
            let _ = writeln!(o, "\n## {}\n", escape(&s.title));
        }
        for f in &s.facts {
            let _ = writeln!(o, "- **{}**: {}", escape(&f.label), escape(&f.value));
        }
        if let Some(t) = &s.table {
            write_table(&mut o, t);
        }
        if let Some(text) = &s.text {
            for line in text.lines() {
                let _ = writeln!(o, "> {}", escape(line));
            }
        }
    }
    if !m.charts.is_empty() {
        o.push('\n');
        for c in &m.charts {
            let _ = writeln!(o, "![{}]({}.png)", escape(&c.title), c.stem);
        }
    }
    if let Some(f) = &m.footer {
        let _ = writeln!(o, "\n---\n{}", escape(f));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_break_a_table() {
        assert_eq!(escape("a|b*c_<d>\nx"), "a\\|b\\*c\\_\\<d\\> x");
        assert_eq!(escape("研发部-主力"), "研发部-主力");
    }
}
