//! `relaywatch ingest FILE.ndjson [--config F] [--stream NAME] [--redis URL]`: pushes log events
//! (EZ-API `LogRecord` names, one JSON object a line; `-` reads stdin) onto the events stream with
//! pipelined XADD. Rule: a bad line is never pushed — it is reported with its line number and
//! kind — and the good ones still are; the exit code is 0 only when every line was pushed.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use relaywatch_core::model::LogEvent;
use relaywatch_core::secrets::mask_url;
use relaywatch_core::service::ingest::{events_redis_url, parse_line, EventPusher};

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// NDJSON file of log events, or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Config file (default: $RELAYWATCH_CONFIG, else ~/.config/relaywatch/relaywatch.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The stream to push to (default: [events] stream, relaywatch:events).
    #[arg(long, value_name = "NAME")]
    pub stream: Option<String>,
    /// The Redis to push to (default: [events] redis_url, else [state], else [source]).
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
}

/// Lines pushed per pipeline.
const CHUNK: usize = 1_000;
/// Bad lines listed one by one; the rest are only counted.
const SHOW_BAD: usize = 20;

pub async fn run(a: IngestArgs) -> Result<i32> {
    let s = relaywatch_core::config::load(
        a.config.as_deref(),
        &relaywatch_core::config::env::ProcessEnv,
    )?
    .settings;
    let stream_name = a.stream.clone().unwrap_or_else(|| s.events.stream.clone());
    if stream_name.trim().is_empty() {
        bail!("--stream: give a stream name, e.g. relaywatch:events");
    }
    let Some(url) = a.redis.clone().or_else(|| events_redis_url(&s)) else {
        bail!("no Redis to push to: set [events] redis_url (or [state] / [source] redis_url), or give --redis redis://127.0.0.1:6379/0");
    };
    let mut pusher = EventPusher::connect(&s, &url, &stream_name).await?;
    let reader: Box<dyn BufRead> = if a.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(&a.file)
            .with_context(|| format!("cannot open {}", a.file.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let mut pending: Vec<LogEvent> = Vec::with_capacity(CHUNK);
    let (mut pushed, mut bad, mut blank) = (0usize, 0usize, 0usize);
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading line {}", i + 1))?;
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        match parse_line(&line) {
            Ok(ev) => pending.push(ev),
            Err(e) => {
                bad += 1;
                if bad <= SHOW_BAD {
                    println!("line {}: {e}", i + 1);
                }
            }
        }
        if pending.len() >= CHUNK {
            pushed += pusher.push(&pending).await?;
            pending.clear();
        }
    }
    if !pending.is_empty() {
        pushed += pusher.push(&pending).await?;
    }
    if bad > SHOW_BAD {
        println!("… and {} more bad line(s)", bad - SHOW_BAD);
    }
    println!(
        "pushed {pushed} event(s) to {stream_name} at {}; {bad} bad line(s), {blank} blank",
        mask_url(&url)
    );
    Ok(if bad == 0 { 0 } else { 1 })
}
