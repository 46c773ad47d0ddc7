//! Schedules: when jobs fire (cron, daily `HH:mm`, clock-aligned intervals) on an IANA
//! timezone's wall clock, human readings of them, catch-up after sleep, and the Redis locks that
//! let exactly one of several instances send each fire; rule: everything but `lock` is pure and
//! takes the instant and the timezone as arguments.
//!
//! A daemon tick for one job:
//! ```text
//! let d = due(&spec, tz, last_fire(con, p, job).await?, now, grace);
//! if let Some(s) = d.skipped { warn!(count = s.count, oldest, newest, "missed fires skipped") }
//! if let Some(f) = d.fire { if try_fire(con, p, job, f).await? { enqueue the message } }
//! if let Some(t) = d.settled_up_to() { set_last_fire(con, p, job, t).await? }
//! sleep until d.next (or a config reload)
//! ```

pub mod catchup;
pub mod describe;
pub mod lock;
pub mod next;
pub mod spec;
pub mod zone;

pub use catchup::{due, Due, Skipped, DEFAULT_GRACE, FIRST_START_TOLERANCE};
pub use describe::describe;
pub use lock::{
    fire_owner, last_fire, release_fire, set_last_fire, try_fire, try_fire_as, LockError,
    FIRE_LOCK_TTL,
};
pub use next::{next_after, next_n, Fires};
pub use spec::{Spec, SpecError};
pub use zone::{detect_tz, parse_tz, system_tz};

pub use chrono_tz::Tz;
