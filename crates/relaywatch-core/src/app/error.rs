//! `AppError`: what the facade's methods fail with, and its wire shape
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
pub enum AppError {
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

impl AppError {
    /// One bad input field.
    pub fn input(field: &str, value: impl Into<String>, fix: impl Into<String>) -> AppError {
        AppError::InvalidInput(vec![FieldError {
            field: field.into(),
            value: value.into(),
            fix: fix.into(),
        }])
    }

    /// The machine-readable kind (see `ui/API.md`).
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::InvalidConfig(_) => "invalid_config",
            AppError::InvalidInput(_) => "invalid_input",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::Source(_) => "source",
            AppError::State(_) => "state",
            AppError::Secret(_) => "secret",
            AppError::Send(_) => "send",
            AppError::Io(_) => "io",
        }
    }

    /// The HTTP status `serve` answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            AppError::InvalidConfig(_) => 422,
            AppError::InvalidInput(_) => 400,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Source(_) | AppError::State(_) | AppError::Send(_) => 502,
            AppError::Secret(_) | AppError::Io(_) => 500,
        }
    }

    /// The field errors, if any.
    pub fn fields(&self) -> Vec<WireField> {
        match self {
            AppError::InvalidConfig(f) | AppError::InvalidInput(f) => {
                f.iter().map(WireField::from).collect()
            }
            _ => Vec::new(),
        }
    }
}

impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Body<'a> {
            kind: &'a str,
            message: String,
            fields: Vec<WireField>,
        }
        let mut outer = s.serialize_struct("AppError", 1)?;
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

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        match e {
            Error::Config { errors, .. } => AppError::InvalidConfig(errors),
            Error::RedisConnect { .. } | Error::Redis { .. } => AppError::Source(e.to_string()),
            Error::Write { .. } => AppError::Io(e.to_string()),
            other => AppError::Source(other.to_string()),
        }
    }
}

impl From<crate::secret_store::SecretError> for AppError {
    fn from(e: crate::secret_store::SecretError) -> Self {
        AppError::Secret(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_to_the_wire_shape() {
        let e = AppError::InvalidConfig(vec![FieldError {
            field: "report.trend_days".into(),
            value: "45".into(),
            fix: "must be between 1 and 30".into(),
        }]);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["error"]["kind"], "invalid_config");
        assert_eq!(v["error"]["fields"][0]["field"], "report.trend_days");
        assert_eq!(e.http_status(), 422);
        let e = AppError::Send("POST https://x/hook/tok-123 failed".into());
        let text = serde_json::to_string(&e).unwrap();
        crate::secrets::assert_no_secret_in(&text, "tok-123");
    }
}
