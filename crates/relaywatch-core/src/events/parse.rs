//! Parsing of log events from a Redis Stream entry's field/value pairs and from an NDJSON line;
//! rule: pure and total — every input gives an event or one typed error naming its kind and
//! field, never a guess.
//!
//! Field names are EZ-API `LogRecord`'s (`group, key_id, model, provider_id, provider_name,
//! provider_type, status_code, latency_ms, tokens_in, tokens_out, error_message, client_ip`) plus
//! `ts`; unknown fields (EZ-API's `request_size`, `audit_reason`…) are ignored. A stream entry
//! may also carry the whole record as JSON in one field named `json`.
//!
//! `ts` is RFC 3339, or a number of epoch **milliseconds**; a number below 10^11 is taken as epoch
//! **seconds** (10^11 ms is March 1973 and 10^11 s is the year 5138, so no real time is
//! ambiguous). Fractions are allowed. When `ts` is absent (or empty) the stream ID's millisecond
//! part is the time; an NDJSON line without `ts` keeps `None` (the stream ID decides once pushed).

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use crate::model::LogEvent;

/// Epoch values below this are seconds, at or above it milliseconds.
pub const SECONDS_BELOW: f64 = 1e11;

/// Why an entry or line could not be read; `as_str` names the kind for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadKind {
    /// The line (or a stream entry's `json` field) is not JSON.
    NotJson,
    /// JSON, but not an object.
    NotObject,
    /// `ts` is neither a number of epoch ms/s nor RFC 3339, or out of range.
    BadTs,
    /// `status_code` is not an integer between 0 and 999.
    BadStatusCode,
    /// `latency_ms`, `tokens_in` or `tokens_out` is not a non-negative integer.
    BadNumber,
    /// A text field holds an object or an array.
    BadText,
    /// No `ts` and a stream ID that is not `<ms>-<seq>`.
    BadStreamId,
}

impl BadKind {
    pub const ALL: [BadKind; 7] = [
        BadKind::NotJson,
        BadKind::NotObject,
        BadKind::BadTs,
        BadKind::BadStatusCode,
        BadKind::BadNumber,
        BadKind::BadText,
        BadKind::BadStreamId,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BadKind::NotJson => "not_json",
            BadKind::NotObject => "not_object",
            BadKind::BadTs => "bad_ts",
            BadKind::BadStatusCode => "bad_status_code",
            BadKind::BadNumber => "bad_number",
            BadKind::BadText => "bad_text",
            BadKind::BadStreamId => "bad_stream_id",
        }
    }
}

/// One unreadable entry: its kind, the field at fault (if one) and a short description of the
/// value (at most 60 characters; event fields hold no secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {detail}", .kind.as_str(), .field.map(|f| format!(" in `{f}`")).unwrap_or_default())]
pub struct ParseError {
    pub kind: BadKind,
    pub field: Option<&'static str>,
    pub detail: String,
}

fn bad(kind: BadKind, field: Option<&'static str>, detail: impl Into<String>) -> ParseError {
    let mut detail = detail.into();
    if detail.chars().count() > 60 {
        detail = detail.chars().take(60).collect::<String>() + "…";
    }
    ParseError {
        kind,
        field,
        detail,
    }
}

/// The millisecond part of a stream ID (`1732252800000-0`).
pub fn stream_id_ms(id: &str) -> Option<i64> {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    if seq.parse::<u64>().is_err() {
        return None;
    }
    ms.parse::<i64>().ok()
}

/// A number of epoch ms (or s, below [`SECONDS_BELOW`]) as a time.
pub(crate) fn epoch_value(v: f64) -> Option<DateTime<Utc>> {
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    let ms = if v < SECONDS_BELOW { v * 1000.0 } else { v };
    Utc.timestamp_millis_opt(ms.round() as i64).single()
}

/// `ts` from text: epoch ms or s (see the module doc) or RFC 3339.
pub fn parse_ts(raw: &str) -> Result<DateTime<Utc>, ParseError> {
    let t = raw.trim();
    if let Ok(v) = t.parse::<f64>() {
        return epoch_value(v).ok_or_else(|| bad(BadKind::BadTs, Some("ts"), t));
    }
    DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| bad(BadKind::BadTs, Some("ts"), t))
}

fn parse_status(raw: &str) -> Result<u16, ParseError> {
    raw.trim()
        .parse::<u16>()
        .ok()
        .filter(|c| *c <= 999)
        .ok_or_else(|| bad(BadKind::BadStatusCode, Some("status_code"), raw))
}

fn parse_count(field: &'static str, raw: &str) -> Result<u64, ParseError> {
    let t = raw.trim();
    t.parse::<u64>()
        .ok()
        .or_else(|| {
            // `12.0` from a JSON float is still a whole number.
            t.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0 && *f < 1.8e19)
                .map(|f| f as u64)
        })
        .ok_or_else(|| bad(BadKind::BadNumber, Some(field), raw))
}

/// Sets one known field from its text; unknown names are ignored. Empty text means absent.
pub(crate) fn set_text_field(ev: &mut LogEvent, name: &str, raw: &str) -> Result<(), ParseError> {
    if raw.is_empty() {
        return Ok(());
    }
    let text = || Some(raw.to_string());
    match name {
        "ts" => ev.ts = Some(parse_ts(raw)?),
        "group" => ev.group = text(),
        "key_id" => ev.key_id = text(),
        "model" => ev.model = text(),
        "provider_id" => ev.provider_id = text(),
        "provider_name" => ev.provider_name = text(),
        "provider_type" => ev.provider_type = text(),
        "status_code" => ev.status_code = Some(parse_status(raw)?),
        "latency_ms" => ev.latency_ms = Some(parse_count("latency_ms", raw)?),
        "tokens_in" => ev.tokens_in = Some(parse_count("tokens_in", raw)?),
        "tokens_out" => ev.tokens_out = Some(parse_count("tokens_out", raw)?),
        "error_message" => ev.error_message = text(),
        "client_ip" => ev.client_ip = text(),
        _ => {}
    }
    Ok(())
}

fn static_name(name: &str) -> Option<&'static str> {
    FIELDS.iter().copied().find(|f| *f == name)
}

/// The field names read (and written by [`to_stream_fields`]).
pub const FIELDS: [&str; 13] = [
    "ts",
    "group",
    "key_id",
    "model",
    "provider_id",
    "provider_name",
    "provider_type",
    "status_code",
    "latency_ms",
    "tokens_in",
    "tokens_out",
    "error_message",
    "client_ip",
];

/// An event from a JSON object; `ts` stays `None` when absent.
pub fn from_json_value(v: &Value) -> Result<LogEvent, ParseError> {
    let obj = v
        .as_object()
        .ok_or_else(|| bad(BadKind::NotObject, None, kind_of(v)))?;
    let mut ev = LogEvent::default();
    for (name, value) in obj {
        let Some(field) = static_name(name) else {
            continue;
        };
        match value {
            Value::Null => {}
            Value::String(s) => set_text_field(&mut ev, field, s)?,
            Value::Number(n) => {
                if field == "ts" {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    ev.ts = Some(
                        epoch_value(f)
                            .ok_or_else(|| bad(BadKind::BadTs, Some("ts"), n.to_string()))?,
                    );
                } else {
                    set_text_field(&mut ev, field, &n.to_string())?;
                }
            }
            Value::Bool(b) => {
                let kind = match field {
                    "ts" => BadKind::BadTs,
                    "status_code" => BadKind::BadStatusCode,
                    "latency_ms" | "tokens_in" | "tokens_out" => BadKind::BadNumber,
                    _ => BadKind::BadText,
                };
                return Err(bad(kind, Some(field), b.to_string()));
            }
            Value::Array(_) | Value::Object(_) => {
                let kind = match field {
                    "ts" => BadKind::BadTs,
                    "status_code" => BadKind::BadStatusCode,
                    "latency_ms" | "tokens_in" | "tokens_out" => BadKind::BadNumber,
                    _ => BadKind::BadText,
                };
                return Err(bad(kind, Some(field), kind_of(value)));
            }
        }
    }
    Ok(ev)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An event from one NDJSON line (surrounding whitespace ignored); `ts` stays `None` when absent.
pub fn from_json_line(line: &str) -> Result<LogEvent, ParseError> {
    super::wire::from_json_str(line)
}

/// An event from a stream entry: its ID and field/value pairs. Without `ts`, the ID's
/// millisecond part is the time; a `json` field holding the whole record is read too (its
/// fields first, plain fields after, so a plain field wins).
pub fn from_stream_entry<K, V>(id: &str, fields: &[(K, V)]) -> Result<LogEvent, ParseError>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut ev = match fields.iter().find(|(k, _)| k.as_ref() == "json") {
        Some((_, json)) => from_json_line(json.as_ref())?,
        None => LogEvent::default(),
    };
    for (k, v) in fields {
        let k = k.as_ref();
        if k != "json" {
            set_text_field(&mut ev, k, v.as_ref())?;
        }
    }
    if ev.ts.is_none() {
        let ms = stream_id_ms(id).ok_or_else(|| bad(BadKind::BadStreamId, None, id))?;
        ev.ts = Some(
            Utc.timestamp_millis_opt(ms)
                .single()
                .ok_or_else(|| bad(BadKind::BadStreamId, None, id))?,
        );
    }
    Ok(ev)
}

/// The field/value pairs `XADD` writes for an event: known fields only, absent ones left out,
/// `ts` as epoch milliseconds.
pub fn to_stream_fields(ev: &LogEvent) -> Vec<(&'static str, String)> {
    let mut out = Vec::with_capacity(8);
    if let Some(ts) = ev.ts {
        out.push(("ts", ts.timestamp_millis().to_string()));
    }
    let texts = [
        ("group", &ev.group),
        ("key_id", &ev.key_id),
        ("model", &ev.model),
        ("provider_id", &ev.provider_id),
        ("provider_name", &ev.provider_name),
        ("provider_type", &ev.provider_type),
    ];
    for (name, v) in texts {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            out.push((name, v.clone()));
        }
    }
    if let Some(c) = ev.status_code {
        out.push(("status_code", c.to_string()));
    }
    for (name, v) in [
        ("latency_ms", ev.latency_ms),
        ("tokens_in", ev.tokens_in),
        ("tokens_out", ev.tokens_out),
    ] {
        if let Some(v) = v {
            out.push((name, v.to_string()));
        }
    }
    for (name, v) in [
        ("error_message", &ev.error_message),
        ("client_ip", &ev.client_ip),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            out.push((name, v.clone()));
        }
    }
    out
}

/// The event as one compact JSON object (`ts` as epoch milliseconds, numbers as numbers,
/// absent fields left out): what [`super::push`] writes in an entry's single `json` field.
pub fn to_json_line(ev: &LogEvent) -> String {
    let mut m = serde_json::Map::new();
    for (k, v) in to_stream_fields(ev) {
        let value = match k {
            "ts" | "status_code" | "latency_ms" | "tokens_in" | "tokens_out" => v
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(Value::String(v)),
            _ => Value::String(v),
        };
        m.insert(k.to_string(), value);
    }
    Value::Object(m).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).unwrap()
    }

    #[test]
    fn ts_forms() {
        assert_eq!(parse_ts("1732252800123").unwrap(), at(1_732_252_800_123));
        assert_eq!(parse_ts("1732252800").unwrap(), at(1_732_252_800_000));
        assert_eq!(parse_ts("1732252800.5").unwrap(), at(1_732_252_800_500));
        assert_eq!(
            parse_ts("2024-11-22T05:20:00.123+00:00").unwrap(),
            at(1_732_252_800_123)
        );
        assert_eq!(
            parse_ts("2024-11-22T13:20:00+08:00").unwrap(),
            at(1_732_252_800_000)
        );
        for b in ["yesterday", "-5", "2024-11-22 05:20", "NaN"] {
            assert_eq!(parse_ts(b).unwrap_err().kind, BadKind::BadTs, "{b}");
        }
    }

    #[test]
    fn json_line_with_ez_api_names() {
        let ev = from_json_line(
            r#"{"group":"default","key_id":12,"model":"claude-sonnet-4","provider_id":3,
               "provider_name":"anthropic-a","provider_type":"anthropic","status_code":502,
               "latency_ms":1234,"tokens_in":10,"tokens_out":0,"error_message":"upstream reset",
               "client_ip":"10.0.0.1","request_size":99,"ts":1732252800000}"#,
        )
        .unwrap();
        assert_eq!(ev.key_id.as_deref(), Some("12"));
        assert_eq!(ev.provider_id.as_deref(), Some("3"));
        assert_eq!(ev.status_code, Some(502));
        assert_eq!(ev.latency_ms, Some(1234));
        assert_eq!(ev.ts, Some(at(1_732_252_800_000)));
        assert!(ev.has_error_message());
        let none = from_json_line(r#"{"model":"m","status_code":200}"#).unwrap();
        assert_eq!(none.ts, None);
        let secs = from_json_line(r#"{"ts":1732252800}"#).unwrap();
        assert_eq!(secs.ts, Some(at(1_732_252_800_000)));
    }

    #[test]
    fn typed_errors_by_kind() {
        let kind = |l: &str| from_json_line(l).unwrap_err().kind;
        assert_eq!(kind("not json"), BadKind::NotJson);
        assert_eq!(kind("[1,2]"), BadKind::NotObject);
        assert_eq!(kind(r#"{"ts":"soon"}"#), BadKind::BadTs);
        assert_eq!(kind(r#"{"ts":true}"#), BadKind::BadTs);
        assert_eq!(kind(r#"{"status_code":"abc"}"#), BadKind::BadStatusCode);
        assert_eq!(kind(r#"{"status_code":70000}"#), BadKind::BadStatusCode);
        assert_eq!(kind(r#"{"status_code":-1}"#), BadKind::BadStatusCode);
        assert_eq!(kind(r#"{"latency_ms":-3}"#), BadKind::BadNumber);
        assert_eq!(kind(r#"{"model":{"a":1}}"#), BadKind::BadText);
        let e = from_json_line(r#"{"status_code":"abc"}"#).unwrap_err();
        assert_eq!(e.to_string(), "bad_status_code in `status_code`: abc");
    }

    #[test]
    fn stream_entry_time_comes_from_the_id_when_absent() {
        let ev = from_stream_entry("1732252800999-3", &[("status_code", "500")]).unwrap();
        assert_eq!(ev.ts, Some(at(1_732_252_800_999)));
        let own = from_stream_entry("1732252800999-3", &[("ts", "1732252700000")]).unwrap();
        assert_eq!(own.ts, Some(at(1_732_252_700_000)));
        let e = from_stream_entry::<&str, &str>("later", &[]).unwrap_err();
        assert_eq!(e.kind, BadKind::BadStreamId);
        let empty = from_stream_entry("5-0", &[("status_code", ""), ("model", "")]).unwrap();
        assert_eq!(empty.status_code, None);
        assert_eq!(empty.model, None);
    }

    #[test]
    fn stream_entry_with_a_json_field() {
        let ev = from_stream_entry(
            "1000-0",
            &[
                ("json", r#"{"model":"m","status_code":503}"#),
                ("model", "n"),
            ],
        )
        .unwrap();
        assert_eq!(ev.status_code, Some(503));
        assert_eq!(ev.model.as_deref(), Some("n"));
        assert_eq!(
            from_stream_entry("1000-0", &[("json", "{")])
                .unwrap_err()
                .kind,
            BadKind::NotJson
        );
    }

    #[test]
    fn value_path_and_fast_path_agree() {
        let lines = [
            r#"{"key_id":12,"status_code":502.0,"ts":1732252800}"#,
            r#"{"status_code":"abc"}"#,
            r#"{"ts":true}"#,
            r#"{"model":["a"]}"#,
            r#"{"latency_ms":-3,"model":"m"}"#,
            r#"{"model":"m","extra":{"deep":[1,2,{"x":null}]},"error_message":"a\"b"}"#,
        ];
        for l in lines {
            let v: Value = serde_json::from_str(l).unwrap();
            let slow = from_json_value(&v).map_err(|e| e.kind);
            let fast = from_json_line(l).map_err(|e| e.kind);
            assert_eq!(slow, fast, "{l}");
        }
        assert_eq!(from_json_line("42").unwrap_err().kind, BadKind::NotObject);
        assert_eq!(from_json_line("").unwrap_err().kind, BadKind::NotJson);
    }

    #[test]
    fn json_line_round_trip() {
        let ev = LogEvent {
            ts: Some(at(1_732_252_800_123)),
            key_id: Some("k".into()),
            status_code: Some(503),
            tokens_out: Some(7),
            error_message: Some("quote \" and ✓".into()),
            ..Default::default()
        };
        let line = to_json_line(&ev);
        assert!(line.contains("\"ts\":1732252800123"), "{line}");
        assert_eq!(from_json_line(&line).unwrap(), ev);
        let back = from_stream_entry("1-0", &[("json", line.as_str())]).unwrap();
        assert_eq!(back, ev);
    }

    #[test]
    fn stream_fields_round_trip() {
        let ev = LogEvent {
            ts: Some(at(1_732_252_800_123)),
            model: Some("claude".into()),
            provider_id: Some("3".into()),
            status_code: Some(529),
            latency_ms: Some(9),
            error_message: Some("overloaded".into()),
            ..Default::default()
        };
        let fields = to_stream_fields(&ev);
        let back = from_stream_entry("1-0", &fields).unwrap();
        assert_eq!(back, ev);
    }
}
