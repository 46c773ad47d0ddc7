//! The one way relaywatch opens a relay's PostgreSQL (EZ-API's log table, Claude Code Hub);
//! rule: read-only — the session's transactions are `READ ONLY`, so even a role that could
//! write cannot through relaywatch — bounded by a timeout, and errors carry the reason with the
//! URL's password masked, never the URL itself.

use std::time::Duration;

use tokio_postgres::{Client, NoTls};

/// Connects to `url` within `timeout` and makes the session read-only. The error is the reason
/// only, redacted (callers add the masked URL).
pub async fn connect_read_only(url: &str, timeout: Duration) -> Result<Client, String> {
    let redact = |s: String| crate::secrets::redact(&s);
    let mut cfg: tokio_postgres::Config = url.parse().map_err(|e| redact(format!("{e}")))?;
    cfg.connect_timeout(timeout);
    cfg.application_name("relaywatch");
    let (client, conn) = tokio::time::timeout(timeout, cfg.connect(NoTls))
        .await
        .map_err(|_| format!("no answer within {} ms", timeout.as_millis()))?
        .map_err(|e| redact(reason(&e)))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(
                "database connection ended: {}",
                crate::secrets::redact(&e.to_string())
            );
        }
    });
    client
        .batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        .await
        .map_err(|e| redact(reason(&e)))?;
    Ok(client)
}

/// A driver error as one line: the server's message when there is one.
pub fn reason(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(x) = src {
                s = format!("{s}: {x}");
                src = x.source();
            }
            s
        }
    }
}
