//! The outbox payload: one semantic Message for one channel, as versioned JSON (charts carried
//! as base64 PNG plus SVG). Rule: an envelope names its channel and language but never holds a
//! URL, token or signing secret — those are resolved from the channel's config when the item
//! is sent, so a queued item is safe to read, and a rotated secret applies to queued items too.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::outbox::NewItem;
use crate::channels::sign::{base64_decode, base64_encode};
use crate::config::Lang;
use crate::render::message::Message;

/// The envelope format this build writes and reads.
pub const ENVELOPE_VERSION: u32 = 1;

/// One chart's bytes (the Message's own `charts` keep stem and title only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartData {
    pub stem: String,
    /// The PNG, standard base64.
    pub png_base64: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svg: Option<String>,
}

/// What an outbox item carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub version: u32,
    /// The channel's `name` in `[[channels]]`.
    pub channel: String,
    /// The language the message was rendered in.
    pub lang: Lang,
    pub message: Message,
    /// The message's charts, in the order of `message.charts`.
    #[serde(default)]
    pub charts: Vec<ChartData>,
}

/// An outbox payload that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the outbox payload is not a relaywatch envelope: {0}")]
    Malformed(String),
    #[error(
        "the outbox payload is envelope version {0}; this relaywatch reads version \
         {ENVELOPE_VERSION}: upgrade it (or let the newer instance send the item)"
    )]
    Version(u32),
    #[error("the outbox payload's chart {stem:?}: {reason}")]
    Chart { stem: String, reason: String },
}

impl Envelope {
    /// Wraps `msg` for `channel`.
    pub fn new(channel: &str, msg: &Message) -> Envelope {
        Envelope {
            version: ENVELOPE_VERSION,
            channel: channel.to_string(),
            lang: msg.lang,
            message: msg.clone(),
            charts: msg
                .charts
                .iter()
                .map(|c| ChartData {
                    stem: c.stem.clone(),
                    png_base64: base64_encode(&c.png),
                    svg: c.svg.as_ref().map(|s| s.as_str().to_string()),
                })
                .collect(),
        }
    }

    /// The outbox item for this envelope under idempotency key `key`; its kind is the
    /// message's (`report`, `test`, …).
    pub fn item(&self, key: impl Into<String>) -> NewItem {
        NewItem {
            channel: self.channel.clone(),
            kind: self.message.kind.as_str().to_string(),
            key: key.into(),
            payload: self.to_payload(),
        }
    }

    /// JSON bytes.
    pub fn to_payload(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an envelope always serialises")
    }

    /// Reads a payload written by [`Envelope::to_payload`].
    pub fn from_payload(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        #[derive(Deserialize)]
        struct Head {
            version: u32,
        }
        let head: Head = serde_json::from_slice(bytes)
            .map_err(|e| EnvelopeError::Malformed(format!("no version: {e}")))?;
        if head.version != ENVELOPE_VERSION {
            return Err(EnvelopeError::Version(head.version));
        }
        serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Malformed(e.to_string()))
    }

    /// The Message with its chart bytes back in place.
    pub fn into_message(self) -> Result<Message, EnvelopeError> {
        let mut msg = self.message;
        if msg.charts.len() != self.charts.len() {
            return Err(EnvelopeError::Malformed(format!(
                "{} chart(s) in the message but {} in `charts`",
                msg.charts.len(),
                self.charts.len()
            )));
        }
        for (chart, data) in msg.charts.iter_mut().zip(self.charts) {
            if chart.stem != data.stem {
                return Err(EnvelopeError::Chart {
                    stem: data.stem,
                    reason: format!("expected chart {:?} in this place", chart.stem),
                });
            }
            let png = base64_decode(&data.png_base64).map_err(|reason| EnvelopeError::Chart {
                stem: data.stem.clone(),
                reason,
            })?;
            chart.png = Arc::new(png);
            chart.svg = data.svg.map(Arc::new);
        }
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::message::ChartImage;

    fn message() -> Message {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-22T09:00:00+08:00").unwrap();
        let mut m = crate::render::messages::test_message("team", at, Lang::ZhCn);
        m.charts = vec![
            ChartImage {
                stem: "overview".into(),
                title: "Overview".into(),
                png: Arc::new(vec![0x89, b'P', b'N', b'G', 0, 1, 2, 255]),
                svg: Some(Arc::new("<svg/>".into())),
            },
            ChartImage {
                stem: "trend".into(),
                title: "Trend".into(),
                png: Arc::new(vec![7; 300]),
                svg: None,
            },
        ];
        m
    }

    #[test]
    fn a_message_round_trips_with_its_chart_bytes() {
        let m = message();
        let env = Envelope::new("team", &m);
        let item = env.item("test:1:team");
        assert_eq!(item.kind, "test");
        assert_eq!(item.channel, "team");
        let back = Envelope::from_payload(&item.payload).unwrap();
        assert_eq!(back.channel, "team");
        assert_eq!(back.lang, Lang::ZhCn);
        let msg = back.into_message().unwrap();
        assert_eq!(msg, m);
        assert_eq!(*msg.charts[0].png, *m.charts[0].png);
        assert_eq!(
            msg.charts[0].svg.as_deref().map(|s| s.as_str()),
            Some("<svg/>")
        );
        assert_eq!(msg.charts[1].png.len(), 300);
    }

    #[test]
    fn other_versions_and_garbage_are_refused_with_the_reason() {
        let m = message();
        let mut v: serde_json::Value =
            serde_json::from_slice(&Envelope::new("team", &m).to_payload()).unwrap();
        v["version"] = 2.into();
        let e = Envelope::from_payload(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert_eq!(e, EnvelopeError::Version(2));
        assert!(e.to_string().contains("upgrade"), "{e}");
        let e = Envelope::from_payload(b"not json").unwrap_err();
        assert!(matches!(e, EnvelopeError::Malformed(_)), "{e}");
        v["version"] = 1.into();
        v["charts"][0]["png_base64"] = "%%%".into();
        let env = Envelope::from_payload(&serde_json::to_vec(&v).unwrap()).unwrap();
        let e = env.into_message().unwrap_err();
        assert!(e.to_string().contains("overview"), "{e}");
    }
}
