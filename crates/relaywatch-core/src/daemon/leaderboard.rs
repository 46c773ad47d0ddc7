//! The daily leaderboard end to end: the source reads every key's usage over the window, the
//! pure rule ranks it. Rule: a window without usage still yields a board (the "no usage"
//! message), never silence.

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::model::LeaderboardWindow;
use crate::render::messages::Leaderboard;
use crate::rules::leaderboard::rank;
use crate::source::crs::leaderboard::read_key_periods;
use crate::source::redis_io::Conn;
use crate::tz::RelayTz;

/// Read the window's per-key usage from CRS and rank the top `top_n`.
pub async fn read(
    conn: &mut Conn,
    window: LeaderboardWindow,
    top_n: u32,
    now: DateTime<Utc>,
    tz: RelayTz,
) -> Result<Leaderboard> {
    let (keys, label) = read_key_periods(conn, window, now, tz).await?;
    Ok(rank(&keys, top_n, label))
}
