//! `ServiceError`: what the facade's methods fail with, and its wire shape
//! `{ "error": { "kind", "message", "fields": [{field, value, fix}] } }` shared by the HTTP API and
//! the Tauri commands. Rule: no variant carries a secret (URLs are masked, references named).

use serde::ser::SerializeStruct;
use serde::Serialize;

use crate::error::{Error, FieldError};

/// One field error on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WireField {
    pub field: String,
    pub value: String,
    pub fix: String,
}

impl From<&FieldError> for WireField {
    fn from(e: &FieldError) -> Self {
        WireField {
            field: e.field.clone(),
            value: e.value.clone(),
            fix: e.fix.clone(),
        }
    }
}

/// A facade error.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid configuration: {}", join(.0))]
    InvalidConfig(Vec<FieldError>),
    #[error("invalid input: {}", join(.0))]
    InvalidInput(Vec<FieldError>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("cannot read the relay: {0}")]
    Source(String),
    #[error("the state Redis: {0}")]
    State(String),
    #[error("{0}")]
    Secret(String),
    #[error("{0}")]
    Send(String),
    #[error("{0}")]
    Io(String),
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

impl ServiceError {
    /// One bad input field.
    pub fn input(field: &str, value: impl Into<String>, fix: impl Into<String>) -> ServiceError {
        ServiceError::InvalidInput(vec![FieldError {
            field: field.into(),
            value: value.into(),
            fix: fix.into(),
        }])
    }

    /// The machine-readable kind (see `ui/API.md`).
    pub fn kind(&self) -> &'static str {
        match self {
            ServiceError::InvalidConfig(_) => "invalid_config",
            ServiceError::InvalidInput(_) => "invalid_input",
            ServiceError::NotFound(_) => "not_found",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::Source(_) => "source",
            ServiceError::State(_) => "state",
            ServiceError::Secret(_) => "secret",
            ServiceError::Send(_) => "send",
            ServiceError::Io(_) => "io",
        }
    }

    /// The HTTP status `serve` answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            ServiceError::InvalidConfig(_) => 422,
            ServiceError::InvalidInput(_) => 400,
            ServiceError::NotFound(_) => 404,
            ServiceError::Conflict(_) => 409,
            ServiceError::Source(_) | ServiceError::State(_) | ServiceError::Send(_) => 502,
            ServiceError::Secret(_) | ServiceError::Io(_) => 500,
        }
    }

    /// The field errors, if any.
    pub fn fields(&self) -> Vec<WireField> {
        match self {
            ServiceError::InvalidConfig(f) | ServiceError::InvalidInput(f) => {
                f.iter().map(WireField::from).collect()
            }
            _ => Vec::new(),
        }
    }
}

impl Serialize for ServiceError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Body<'a> {
            kind: &'a str,
            message: String,
            fields: Vec<WireField>,
        }
        let mut outer = s.serialize_struct("ServiceError", 1)?;
        outer.serialize_field(
            "error",
            &Body {
                kind: self.kind(),
                message: crate::secrets::redact(&self.to_string()),
                fields: self.fields(),
            },
        )?;
        outer.end()
    }
}

impl From<Error> for ServiceError {
    fn from(e: Error) -> Self {
        match e {
            Error::Config { errors, .. } => ServiceError::InvalidConfig(errors),
            Error::RedisConnect { .. } | Error::Redis { .. } => ServiceError::Source(e.to_string()),
            Error::Write { .. } => ServiceError::Io(e.to_string()),
            other => ServiceError::Source(other.to_string()),
        }
    }
}

impl From<crate::secret_store::SecretError> for ServiceError {
    fn from(e: crate::secret_store::SecretError) -> Self {
        ServiceError::Secret(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_to_the_wire_shape() {
        let e = ServiceError::InvalidConfig(vec![FieldError {
            field: "report.trend_days".into(),
            value: "45".into(),
            fix: "must be between 1 and 30".into(),
        }]);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["error"]["kind"], "invalid_config");
        assert_eq!(v["error"]["fields"][0]["field"], "report.trend_days");
        assert_eq!(e.http_status(), 422);
        let e = ServiceError::Send("POST https://x/hook/tok-123 failed".into());
        let text = serde_json::to_string(&e).unwrap();
        crate::secrets::assert_no_secret_in(&text, "tok-123");
    }
}
