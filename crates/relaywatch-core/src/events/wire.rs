//! The fast path from one JSON object to a log event: serde reads the known fields straight into
//! borrowed slices (no intermediate `serde_json::Value`), and each field is then checked with
//! the same rules and error kinds as `parse.rs`; rule: the same input gives the same event or the
//! same error kind on either path (the tests of `parse.rs` run through this one).

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::parse::{epoch_value, set_text_field, BadKind, ParseError};
use crate::model::LogEvent;

/// One JSON value of a known field, as given.
#[derive(Debug)]
enum Flex<'a> {
    Null,
    U(u64),
    I(i64),
    F(f64),
    S(Cow<'a, str>),
    /// A boolean, array or object: its kind, for the error.
    Other(&'static str),
}

impl<'de: 'a, 'a> Deserialize<'de> for Flex<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flex<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Flex<'de>, E> {
                Ok(Flex::Null)
            }
            fn visit_none<E>(self) -> Result<Flex<'de>, E> {
                Ok(Flex::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Flex<'de>, E> {
                Ok(Flex::Other("a boolean"))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Flex<'de>, E> {
                Ok(Flex::U(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Flex<'de>, E> {
                Ok(Flex::I(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Flex<'de>, E> {
                Ok(Flex::F(v))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Flex<'de>, E> {
                Ok(Flex::S(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Flex<'de>, E> {
                Ok(Flex::S(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Flex<'de>, E> {
                Ok(Flex::S(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Flex<'de>, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Flex::Other("an array"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Flex<'de>, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Flex::Other("an object"))
            }
        }
        d.deserialize_any(V)
    }
}

/// The known fields of a record; unknown ones are skipped by serde.
#[derive(Debug, Deserialize)]
struct Wire<'a> {
    #[serde(borrow, default)]
    ts: Option<Flex<'a>>,
    #[serde(borrow, default)]
    group: Option<Flex<'a>>,
    #[serde(borrow, default)]
    key_id: Option<Flex<'a>>,
    #[serde(borrow, default)]
    model: Option<Flex<'a>>,
    #[serde(borrow, default)]
    provider_id: Option<Flex<'a>>,
    #[serde(borrow, default)]
    provider_name: Option<Flex<'a>>,
    #[serde(borrow, default)]
    provider_type: Option<Flex<'a>>,
    #[serde(borrow, default)]
    status_code: Option<Flex<'a>>,
    #[serde(borrow, default)]
    latency_ms: Option<Flex<'a>>,
    #[serde(borrow, default)]
    tokens_in: Option<Flex<'a>>,
    #[serde(borrow, default)]
    tokens_out: Option<Flex<'a>>,
    #[serde(borrow, default)]
    error_message: Option<Flex<'a>>,
    #[serde(borrow, default)]
    client_ip: Option<Flex<'a>>,
}

fn wrong_kind(field: &'static str) -> BadKind {
    match field {
        "ts" => BadKind::BadTs,
        "status_code" => BadKind::BadStatusCode,
        "latency_ms" | "tokens_in" | "tokens_out" => BadKind::BadNumber,
        _ => BadKind::BadText,
    }
}

fn set(ev: &mut LogEvent, field: &'static str, v: Option<Flex<'_>>) -> Result<(), ParseError> {
    let Some(v) = v else { return Ok(()) };
    let text: Cow<str> = match v {
        Flex::Null => return Ok(()),
        Flex::S(s) => s,
        Flex::U(n) if field == "ts" => return set_ts(ev, n as f64, &n.to_string()),
        Flex::I(n) if field == "ts" => return set_ts(ev, n as f64, &n.to_string()),
        Flex::F(n) if field == "ts" => return set_ts(ev, n, &n.to_string()),
        Flex::U(n) => Cow::Owned(n.to_string()),
        Flex::I(n) => Cow::Owned(n.to_string()),
        Flex::F(n) => Cow::Owned(
            serde_json::Number::from_f64(n).map_or_else(|| n.to_string(), |x| x.to_string()),
        ),
        Flex::Other(kind) => {
            return Err(ParseError {
                kind: wrong_kind(field),
                field: Some(field),
                detail: kind.into(),
            })
        }
    };
    set_text_field(ev, field, &text)
}

fn set_ts(ev: &mut LogEvent, v: f64, shown: &str) -> Result<(), ParseError> {
    let t: DateTime<Utc> = epoch_value(v).ok_or_else(|| ParseError {
        kind: BadKind::BadTs,
        field: Some("ts"),
        detail: shown.into(),
    })?;
    ev.ts = Some(t);
    Ok(())
}

/// An event from one JSON object's text; `ts` stays `None` when absent.
pub fn from_json_str(text: &str) -> Result<LogEvent, ParseError> {
    let t = text.trim();
    if !t.starts_with('{') {
        // Tell "not JSON at all" from "JSON, but not an object".
        return Err(match serde_json::from_str::<IgnoredAny>(t) {
            Ok(_) => ParseError {
                kind: BadKind::NotObject,
                field: None,
                detail: "not an object".into(),
            },
            Err(e) => not_json(&e),
        });
    }
    let w: Wire = serde_json::from_str(t).map_err(|e| not_json(&e))?;
    let mut ev = LogEvent::default();
    set(&mut ev, "ts", w.ts)?;
    set(&mut ev, "group", w.group)?;
    set(&mut ev, "key_id", w.key_id)?;
    set(&mut ev, "model", w.model)?;
    set(&mut ev, "provider_id", w.provider_id)?;
    set(&mut ev, "provider_name", w.provider_name)?;
    set(&mut ev, "provider_type", w.provider_type)?;
    set(&mut ev, "status_code", w.status_code)?;
    set(&mut ev, "latency_ms", w.latency_ms)?;
    set(&mut ev, "tokens_in", w.tokens_in)?;
    set(&mut ev, "tokens_out", w.tokens_out)?;
    set(&mut ev, "error_message", w.error_message)?;
    set(&mut ev, "client_ip", w.client_ip)?;
    Ok(ev)
}

fn not_json(e: &serde_json::Error) -> ParseError {
    let what = match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "data error",
        serde_json::error::Category::Eof => "unexpected end",
    };
    ParseError {
        kind: BadKind::NotJson,
        field: None,
        detail: format!("{what} at column {}", e.column()),
    }
}
