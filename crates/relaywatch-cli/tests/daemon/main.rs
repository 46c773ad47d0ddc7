//! `relaywatch run` end to end: real processes (often three on one Redis), a real redis-server,
//! loopback receivers that answer as the platforms do. One test binary, so the slow cases
//! (waiting for a minute boundary, a 20 s outage) run side by side.

#[path = "../common/mod.rs"]
mod common;

mod alerts;
mod cch;
mod ezapi;
mod outage;
mod quota;
mod receiver_outage;
mod reload;
mod schedule;
mod seed;
