//! The JSON log line: one object per event with `time`, `level`, `target`, `message` and the
//! event's other `fields`. Rule: the object is built whole and written in one piece, so the
//! secret-scrubbing writer sees the complete line.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// `tracing_subscriber` event formatter for `--log-format json`.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = FieldMap::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let line = line(
            chrono::Utc::now(),
            meta.level().as_str(),
            meta.target(),
            fields.message.unwrap_or_default(),
            fields.rest,
        );
        writeln!(writer, "{line}")
    }
}

/// One log line as JSON (pure).
pub fn line(
    now: chrono::DateTime<chrono::Utc>,
    level: &str,
    target: &str,
    message: String,
    fields: Map<String, Value>,
) -> String {
    let mut obj = Map::new();
    obj.insert(
        "time".into(),
        now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            .into(),
    );
    obj.insert("level".into(), level.into());
    obj.insert("target".into(), target.into());
    obj.insert("message".into(), message.into());
    obj.insert("fields".into(), Value::Object(fields));
    Value::Object(obj).to_string()
}

/// The event's `message` apart, every other field by name with its JSON value.
#[derive(Default)]
struct FieldMap {
    message: Option<String>,
    rest: Map<String, Value>,
}

impl FieldMap {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.rest.insert(field.name().to_string(), value);
        }
    }
}

impl Visit for FieldMap {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_has_time_level_target_message_and_fields() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-04T23:30:00Z")
            .unwrap()
            .to_utc();
        let mut fields = serde_json::Map::new();
        fields.insert("entries".into(), 3.into());
        let v: serde_json::Value = serde_json::from_str(&super::line(
            at,
            "INFO",
            "relaywatch_core::events",
            "read \"x\"".into(),
            fields,
        ))
        .unwrap();
        assert_eq!(v["time"], "2026-12-04T23:30:00.000000Z");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], "relaywatch_core::events");
        assert_eq!(v["message"], "read \"x\"");
        assert_eq!(v["fields"]["entries"], 3);
    }
}
