//! relaywatch engine: reads a relay's Redis into a dashboard Snapshot, prices usage, renders
//! charts and reports. No GUI and no HTTP server live here, so everything tests headless.

pub mod channels;
pub mod config;
pub mod daemon;
pub mod delivery;
pub mod error;
pub mod events;
pub mod metrics;
pub mod model;
pub mod pricing;
pub mod render;
pub mod rules;
pub mod schedule;
pub mod secret_store;
pub mod secrets;
pub mod service;
pub mod source;
pub mod store;
pub mod tz;

pub use error::{Error, Result};
pub use model::Snapshot;
