//! Delivery: getting rendered requests to the platforms (SSRF-guarded network, outbox, sender).
//! Rule: nothing leaves without passing `net`.
pub mod backoff;
pub mod channel_sender;
pub mod drain;
pub mod envelope;
pub mod history;
pub mod net;
pub mod outbox;
pub mod ratelimit;
