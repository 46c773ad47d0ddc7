//! Alert rules: one file per rule, each a pure evaluator that takes `now` and its data and reads
//! no clock, no Redis and no relay; their state lives in relaywatch's Redis behind `store/`. Every rule speaks the same
//! contract, [`Alert`]: a transition (firing or resolved) of one subject of one rule, carrying
//! the data its message is built from, so each channel can render it in its own language.

pub mod alert_state;
pub mod breaker;
pub mod breaker_machine;
pub mod error_rate;
pub mod leaderboard;
pub mod quota;
pub mod replay;
pub mod window;

pub use crate::model::{Alert, AlertPayload, RuleKind};
