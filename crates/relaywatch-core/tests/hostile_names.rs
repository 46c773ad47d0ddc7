//! Hostile names never break a chat message (issue 10): a top-keys table whose key names carry a
//! 10 kB name, NUL/BEL/ESC, a right-to-left override, a Markdown link, `&amp;`, `**`, `<b>`,
//! backticks, `|` and CJK near the cut, encoded for every platform and as `report.md`. Rule: all
//! ten ranks are shown or "+N more" is; no control or bidi character reaches a payload; no link
//! from data is live; entities show as typed; markup stays balanced; every payload is within the
//! platform's limit in its own unit. Also with a 10 kB name that bypasses the cleaner (the budget
//! alone must hold). No network: encoders are pure.

use chrono::Utc;
use relaywatch_core::channels::{
    dingtalk, discord, feishu, generic, slack, telegram, wecom, Body, EncodeContext, Request,
};
use relaywatch_core::config::Lang;
use relaywatch_core::model::KeyUsage;
use relaywatch_core::render::charts::{
    render_png, render_svg, ChartKind, ChartLabels, ChartOptions,
};
use relaywatch_core::render::clean::{self, is_hidden};
use relaywatch_core::render::message::Message;
use relaywatch_core::render::{markdown, messages};
use relaywatch_core::secrets::Secret;
use relaywatch_testkit::samples;
use serde_json::Value;

const BIG: usize = 10_000;

/// Ten key names, each led by a marker `K01`…`K10` that survives any cut.
fn hostile_names() -> Vec<String> {
    vec![
        format!("K01 {}", "x".repeat(BIG)),
        "K02 nul\u{0}bel\u{7}esc\u{1b}[31mred\u{7f}".into(),
        "K03 rlo\u{202E}gnp.exe\u{2066}iso\u{2069}\u{200F}zw\u{200B}sp\u{FEFF}".into(),
        "K04 [x](http://evil.example)".into(),
        "K05 &amp; &lt;tag&gt;".into(),
        "K06 **bold".into(),
        "K07 <b>tag</b> <http://evil.example>".into(),
        "K08 `tick` ```fence".into(),
        "K09 a|b|c\nnext\tline".into(),
        format!("K10 {}", "研发部".repeat(30)),
    ]
}

fn hostile_report(lang: Lang) -> Message {
    let mut snap = samples::sample_snapshot();
    snap.top_keys = hostile_names()
        .into_iter()
        .enumerate()
        .map(|(i, name)| KeyUsage {
            id: format!("id-{i}"),
            name,
            requests: 1000 - i as u64,
            all_tokens: 1_000_000 - i as u64,
            cost_usd: 100.0 - i as f64,
        })
        .collect();
    if let Some(m) = snap.models.first_mut() {
        m.model = "claude\u{202E}-evil\u{0}".into();
    }
    messages::report(&snap, Vec::new(), lang)
}

/// The report with its first key's cell replaced by a raw 10 kB name: what the budget alone
/// must survive.
fn bypassing_report(lang: Lang) -> Message {
    let mut m = hostile_report(lang);
    let table = m.sections[0].table.as_mut().expect("top-keys table");
    let name = table.columns.iter().position(|c| c.header != "#").unwrap();
    table.rows[0][name] = format!("K01 **{}\u{0}\u{202E}", "y".repeat(BIG));
    m
}

fn ctx(lang: Lang, format: Option<&str>) -> EncodeContext {
    EncodeContext {
        url: Secret::new("https://hooks.example/fake-token"),
        secret: Some(Secret::new("SECfake")),
        lang,
        format: format.map(str::to_string),
        keyword: None,
        mentions: Vec::new(),
        api_base: None,
        chat_id: Some("-100".into()),
        message_id: "msg_fixed-0001".into(),
        now: samples::sample_time().with_timezone(&Utc),
    }
}

fn json(r: &Request) -> Value {
    match &r.body {
        Body::Json { value } => value.clone(),
        Body::Multipart { parts } => parts
            .iter()
            .find(|p| p.name == "payload_json")
            .map(|p| serde_json::from_slice(&p.bytes).unwrap())
            .unwrap_or(Value::Null),
    }
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn utf16(s: &str) -> usize {
    s.encode_utf16().count()
}

/// The encoded texts of one platform: its name, every markup text a person sees, the plain-text
/// fields (Feishu table cells and `plain_text`: shown as typed, no markup to balance), how `&amp;`
/// in data must appear, and whether `<b>` would be a tag.
struct Encoded {
    name: &'static str,
    texts: Vec<String>,
    plain: Vec<String>,
    amp: &'static str,
    html: bool,
}

impl Encoded {
    fn new(name: &'static str, texts: Vec<String>, amp: &'static str) -> Self {
        Encoded {
            name,
            texts,
            plain: Vec::new(),
            amp,
            html: name != "discord",
        }
    }

    fn all(&self) -> impl Iterator<Item = &String> {
        self.texts.iter().chain(&self.plain)
    }

    fn joined(&self) -> String {
        self.all().cloned().collect::<Vec<_>>().join("\n")
    }
}

fn all_strings(reqs: &[Request]) -> Vec<String> {
    let mut s = Vec::new();
    for r in reqs {
        strings(&json(r), &mut s);
    }
    s
}

/// Slack: every block text within 3000 characters, at most 50 blocks.
fn slack_texts(m: &Message, lang: Lang) -> Encoded {
    let reqs = slack::encode(m, &ctx(lang, None));
    for r in &reqs {
        let v = json(r);
        for b in v["blocks"].as_array().unwrap() {
            let mut s = Vec::new();
            strings(b, &mut s);
            for t in s {
                assert!(utf16(&t) <= slack::SECTION_TEXT_MAX, "slack block: {t}");
            }
        }
        assert!(v["blocks"].as_array().unwrap().len() <= slack::MAX_BLOCKS);
    }
    Encoded::new("slack", all_strings(&reqs), "&amp;amp;")
}

/// Discord: a description within 4096 characters, the embeds within 6000 together.
fn discord_texts(m: &Message, lang: Lang) -> Encoded {
    let reqs = discord::encode(m, &ctx(lang, None));
    for r in &reqs {
        let v = json(r);
        let mut total = 0;
        for e in v["embeds"].as_array().unwrap() {
            let s = |v: &Value| v.as_str().map(utf16).unwrap_or(0);
            assert!(s(&e["description"]) <= discord::DESCRIPTION_MAX);
            total += s(&e["title"]) + s(&e["description"]) + s(&e["footer"]["text"]);
            for f in e["fields"].as_array().into_iter().flatten() {
                total += s(&f["name"]) + s(&f["value"]);
            }
        }
        assert!(total <= discord::EMBEDS_TOTAL_MAX, "discord embeds {total}");
    }
    Encoded::new("discord", all_strings(&reqs), "&amp;")
}

/// DingTalk: every body within 20 000 bytes.
fn dingtalk_texts(m: &Message, lang: Lang) -> Encoded {
    let reqs = dingtalk::encode(m, &ctx(lang, None));
    for r in &reqs {
        let n = serde_json::to_vec(&json(r)).unwrap().len();
        assert!(n <= dingtalk::MAX_BODY_BYTES, "dingtalk body {n}");
    }
    Encoded::new("dingtalk", all_strings(&reqs), "&amp;amp;")
}

/// WeCom `markdown` or `markdown_v2`: every content within 4096 bytes.
fn wecom_texts(m: &Message, lang: Lang, name: &'static str, format: Option<&str>) -> Encoded {
    let reqs = wecom::encode(m, &ctx(lang, format));
    let mut texts = Vec::new();
    for r in &reqs {
        let v = json(r);
        let t = v["msgtype"].as_str().unwrap().to_string();
        if let Some(c) = v[&t]["content"].as_str() {
            assert!(
                c.len() <= wecom::MAX_MARKDOWN_BYTES,
                "{name} {} bytes",
                c.len()
            );
            texts.push(c.to_string());
        }
    }
    Encoded::new(name, texts, "&amp;amp;")
}

/// Feishu: every body within 20 000 bytes. Markdown elements carry markup; the top-keys table
/// is a card table of `text` columns, plain text where `&amp;` and `<b>` show as typed.
fn feishu_texts(m: &Message, lang: Lang) -> Encoded {
    let reqs = feishu::encode(m, &ctx(lang, None));
    let (mut texts, mut plain) = (Vec::new(), Vec::new());
    for r in &reqs {
        let v = json(r);
        let n = serde_json::to_vec(&v).unwrap().len();
        assert!(n <= feishu::MAX_BODY_BYTES, "feishu body {n}");
        for e in v["card"]["body"]["elements"].as_array().unwrap() {
            if e["tag"] == "markdown" {
                texts.push(e["content"].as_str().unwrap().to_string());
            } else {
                strings(e, &mut plain);
            }
        }
        strings(&v["card"]["header"], &mut plain);
    }
    Encoded {
        plain,
        ..Encoded::new("feishu", texts, "&amp;")
    }
}

/// Telegram: every text within 4096 characters after entity parsing.
fn telegram_texts(m: &Message, lang: Lang) -> Encoded {
    let reqs = telegram::encode(m, &ctx(lang, None));
    let mut texts = Vec::new();
    for r in &reqs {
        if let Some(t) = json(r)["text"].as_str() {
            assert!(telegram::visible_len(t) <= telegram::TEXT_MAX);
            texts.push(t.to_string());
        }
    }
    Encoded::new("telegram", texts, "&amp;amp;")
}

/// Every platform's texts for `m`, each request checked against its limit on the way, and
/// `report.md`.
fn encode_all(m: &Message, lang: Lang) -> Vec<Encoded> {
    vec![
        slack_texts(m, lang),
        discord_texts(m, lang),
        dingtalk_texts(m, lang),
        wecom_texts(m, lang, "wecom", None),
        wecom_texts(m, lang, "wecom-v2", Some("markdown_v2")),
        feishu_texts(m, lang),
        telegram_texts(m, lang),
        Encoded::new("report.md", vec![markdown::render(m)], "\\&amp;"),
    ]
}

fn more_marker(lang: Lang) -> &'static str {
    match lang {
        Lang::En => " more",
        _ => "另有",
    }
}

fn assert_ranks(e: &Encoded, lang: Lang, all_required: bool) {
    let joined = e.joined();
    let missing: Vec<String> = (1..=10)
        .map(|i| format!("K{i:02}"))
        .filter(|k| !joined.contains(k.as_str()))
        .collect();
    if all_required {
        assert!(missing.is_empty(), "{}: ranks {missing:?} lost", e.name);
    } else if !missing.is_empty() {
        assert!(
            joined.contains(more_marker(lang)),
            "{}: ranks {missing:?} lost without \"+N more\"\n{joined}",
            e.name
        );
    }
}

/// No control, bidi or invisible character from data. The one invisible character a payload may
/// carry is the zero-width space the escapes put in on purpose (`http:\u{200B}//`, `]\u{200B}(`,
/// Discord's `@\u{200B}`); the cleaner removes it from data, so none comes from a name.
fn assert_no_hidden(e: &Encoded) {
    for t in e.all() {
        if let Some(c) = t.chars().find(|c| is_hidden(*c) && *c != '\u{200B}') {
            panic!("{}: hidden character U+{:04X} in {t:?}", e.name, c as u32);
        }
    }
}

/// No `[x](url)` link from data (an unescaped `](`), no bare or angle-bracket URL a client
/// would link.
fn assert_no_live_link(e: &Encoded) {
    for t in e.all() {
        assert!(!t.contains("http://evil"), "{}: live URL in {t}", e.name);
        let b = t.as_bytes();
        for (i, _) in t.match_indices("](") {
            assert!(i > 0 && b[i - 1] == b'\\', "{}: live link in {t}", e.name);
        }
    }
}

/// `**` pairs even on every line; code fences even in every text; Telegram tags balanced.
fn assert_balanced(e: &Encoded) {
    for t in &e.texts {
        // Telegram HTML has no fences: a backtick there is a character.
        if e.name != "telegram" {
            assert_eq!(
                t.matches("```").count() % 2,
                0,
                "{}: open fence in {t}",
                e.name
            );
        }
        let mut in_code = false;
        for line in t.lines() {
            // Code blocks (``` fences, Telegram <pre>) show data as typed: no markup inside.
            let marks = ["```", "<pre>", "</pre>"]
                .iter()
                .map(|m| line.matches(m).count())
                .sum::<usize>();
            if marks > 0 {
                in_code ^= marks % 2 == 1;
                continue;
            }
            if in_code {
                continue;
            }
            let b = line.as_bytes();
            let pairs = line
                .match_indices("**")
                .filter(|(i, _)| *i == 0 || b[i - 1] != b'\\')
                .count();
            // "***" would count once per position; data never produces one unescaped.
            assert_eq!(pairs % 2, 0, "{}: open ** in {line:?}", e.name);
        }
        if e.name == "telegram" {
            for tag in ["b", "i", "pre", "blockquote"] {
                assert_eq!(
                    t.matches(&format!("<{tag}>")).count(),
                    t.matches(&format!("</{tag}>")).count(),
                    "telegram <{tag}> in {t}"
                );
            }
        }
    }
}

#[test]
fn hostile_names_are_shown_safely_on_every_platform() {
    for lang in [Lang::En, Lang::ZhCn] {
        let m = hostile_report(lang);
        for e in encode_all(&m, lang) {
            assert_ranks(&e, lang, true);
            assert_no_hidden(&e);
            assert_no_live_link(&e);
            assert_balanced(&e);
            let joined = e.joined();
            assert!(
                joined.contains("K03 rlognp.exeisozwsp"),
                "{}: {joined}",
                e.name
            );
            assert!(joined.contains(e.amp), "{}: &amp; not literal", e.name);
            if e.html {
                let markup = e.texts.join("\n");
                assert!(
                    !markup.contains("<b>tag"),
                    "{}: <b> from data is a tag",
                    e.name
                );
            }
            // The 10 kB name is cut to a display length before any platform sees it.
            assert!(
                !joined.contains(&"x".repeat(clean::NAME_COLUMNS)),
                "{}",
                e.name
            );
            assert!(joined.contains("xxx…"), "{}: the cut is shown", e.name);
        }
    }
}

#[test]
fn cleaned_names_in_the_message_itself() {
    let m = hostile_report(Lang::En);
    let table = m.sections[0].table.as_ref().unwrap();
    for row in &table.rows {
        for cell in row {
            assert!(!cell.chars().any(is_hidden), "{cell:?}");
            assert!(clean::width(cell) <= clean::NAME_COLUMNS, "{cell}");
        }
    }
    // CJK near the cut: whole characters, within the width.
    let cjk = &table.rows[9][1];
    assert!(cjk.starts_with("K10 研发部") && cjk.ends_with('…'), "{cjk}");
    assert_eq!(table.rows[8][1], "K09 a|b|c next line");
    // The generic webhook's data carries no hidden characters either (kept whole, not cut).
    let reqs = generic::encode(&m, &ctx(Lang::En, None));
    let mut s = Vec::new();
    strings(&json(&reqs[0]), &mut s);
    assert!(s.iter().all(|t| !t.chars().any(is_hidden)));
    assert!(s.iter().any(|t| t.len() > BIG), "data keeps the whole name");
}

#[test]
fn the_budget_alone_survives_a_10kb_cell() {
    for lang in [Lang::En, Lang::ZhCn] {
        let m = bypassing_report(lang);
        // The generic webhook has no dialect to escape: its document is cleaned as a whole.
        let reqs = generic::encode(&m, &ctx(lang, None));
        let bytes = serde_json::to_vec(&json(&reqs[0])).unwrap();
        assert!(bytes.len() <= generic::MAX_BODY_BYTES);
        let mut s = Vec::new();
        strings(&json(&reqs[0]), &mut s);
        assert!(s.iter().all(|t| !t.chars().any(is_hidden)), "generic");
        for e in encode_all(&m, lang) {
            assert_ranks(&e, lang, false);
            assert_no_hidden(&e);
            assert_no_live_link(&e);
            assert_balanced(&e);
        }
    }
}

#[test]
fn wecom_keeps_every_rank_or_says_how_many_more() {
    // The issue's case: a 10 kB name cut the content at 4096 bytes inside the name.
    for format in [None, Some("markdown_v2")] {
        let m = bypassing_report(Lang::En);
        let reqs = wecom::encode(&m, &ctx(Lang::En, format));
        let first = json(&reqs[0]);
        let t = first["msgtype"].as_str().unwrap().to_string();
        let content = first[&t]["content"].as_str().unwrap();
        assert!(content.len() <= wecom::MAX_MARKDOWN_BYTES);
        assert!(content.contains("K01 "), "{content}");
        assert!(
            (2..=10).all(|i| content.contains(&format!("K{i:02}"))) || content.contains(" more"),
            "{content}"
        );
    }
}

#[test]
fn charts_draw_cleaned_names() {
    let mut snap = samples::sample_snapshot();
    for (k, name) in snap.top_keys.iter_mut().zip(hostile_names()) {
        k.name = name;
    }
    if let Some(m) = snap.models.first_mut() {
        m.model = format!("model\u{202E}{}", "z".repeat(BIG));
    }
    let opts = ChartOptions::default();
    for kind in [ChartKind::TopKeys, ChartKind::Models] {
        let svg = render_svg(kind, &snap, &opts, &ChartLabels::en()).unwrap();
        assert!(!svg.chars().any(|c| is_hidden(c) && c != '\t' && c != '\r'));
        assert!(!svg.contains(&"x".repeat(clean::NAME_COLUMNS)));
        assert!(!svg.contains(&"z".repeat(clean::NAME_COLUMNS)));
        assert!(render_png(kind, &snap, &opts, &ChartLabels::en()).is_ok());
    }
}
