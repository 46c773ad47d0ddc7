//! relaywatch-testkit: test helpers for relaywatch; rule: test-only code (never a normal dependency), and everything it writes into Redis is what Claude Relay Service (CRS) or Claude Code Hub (CCH) itself would write, and into PostgreSQL what EZ-API or CCH would.
//!
//! * [`RedisServer`]: a real `redis-server` on a free loopback port, shared per
//!   test binary via [`RedisServer::shared`] / [`fresh_db`].
//! * [`CrsWriter`]: reproduces CRS's writes (API keys, usage events, accounts,
//!   minute metrics) plus raw helpers for malformed data.
//! * [`fixtures::seed_bench`]: seeds a large, CRS-shaped dataset quickly
//!   (using [`dump`] payloads with RESTORE).
//! * [`crs_time`], [`model`]: CRS's date buckets and model-name rules.
//! * [`PgServer`]: a real PostgreSQL cluster (Debian's `initdb`/`pg_ctl`) on a free
//!   loopback port, shared per test binary via [`PgServer::shared`] / [`fresh_database`];
//!   [`pg::connect`] opens a client.
//! * [`ezapi`]: EZ-API's `log_records` table as GORM creates it, and writers that fill
//!   it as EZ-API's LogWriter would ([`LogRecordRow`], binary COPY, soft deletes).
//! * [`cch`]: Claude Code Hub's tables (`users`, `keys`, `providers`, `message_request`,
//!   `usage_ledger`, `system_settings`) with CCH's ledger trigger, writers that go through
//!   `message_request` as CCH's proxy does ([`CchRequest`], insert-then-finish, soft deletes),
//!   CCH's breaker hashes in Redis ([`cch::write_breaker`]) and a demo hub
//!   ([`cch::seed_demo_hub`]).

pub mod cch;
pub mod crs_time;
pub mod dump;
pub mod ezapi;
pub mod fixtures;
pub mod model;
pub mod pg;
pub mod samples;
pub mod server;
pub mod writer;

pub use cch::{
    create_cch_schema, CchKey, CchLimits, CchProvider, CchRequest, CchSeed, CchSettings, CchUser,
};
pub use ezapi::LogRecordRow;
pub use pg::{fresh_database, PgServer};
pub use server::{fresh_db, RedisServer};
pub use writer::{
    AccountSpec, ApiKeySpec, CrsWriter, OpusWeek, Platform, UsageCounts, UsageEvent, WriterOptions,
};
