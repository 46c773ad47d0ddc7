//! The engine's error type: every variant names what failed (a field, a URL with its password
//! masked, a file) and never carries a secret.

use std::path::PathBuf;

/// Result alias for the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One invalid configuration value: its field path, the value given and what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub value: String,
    pub fix: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` = {}: {}", self.field, self.value, self.fix)
    }
}

fn join_lines(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("  - {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration{}:\n{}", .source_name.as_ref().map(|s| format!(" in {s}")).unwrap_or_default(), join_lines(.errors))]
    Config {
        source_name: Option<String>,
        errors: Vec<FieldError>,
    },
    #[error("cannot read config file {}: {reason}", .path.display())]
    ConfigFile { path: PathBuf, reason: String },
    #[error("cannot connect to Redis at {url}: {reason}")]
    RedisConnect { url: String, reason: String },
    #[error("Redis error at {url}: {reason}")]
    Redis { url: String, reason: String },
    #[error(transparent)]
    Pricing(#[from] crate::pricing::PricingError),
    /// A chart could not be drawn (`render::charts::ChartError`, as text).
    #[error("{0}")]
    Chart(String),
    #[error("cannot write {}: {reason}", .path.display())]
    Write { path: PathBuf, reason: String },
    #[error("cannot read the relay's database at {url}: {reason}")]
    Database { url: String, reason: String },
}

impl Error {
    /// The process exit code the CLI uses for this error: 2 for an unreachable source, 3 for
    /// invalid configuration, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::RedisConnect { .. } | Error::Database { .. } => 2,
            Error::Config { .. } | Error::ConfigFile { .. } => 3,
            _ => 1,
        }
    }
}
