//! The daily leaderboard end to end: the relay answers every key's (or user's) usage over the
//! window, the pure rule ranks it. Rule: a window without usage still yields a board (the "no
//! usage" message), never silence.

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::model::LeaderboardWindow;
use crate::render::messages::Leaderboard;
use crate::rules::leaderboard::rank;
use crate::source::Relay;

/// Read the window's usage from `relay` and rank the top `top_n`.
pub async fn read(
    relay: &impl Relay,
    window: LeaderboardWindow,
    top_n: u32,
    now: DateTime<Utc>,
) -> Result<Leaderboard> {
    let input = relay.leaderboard(window, now).await?;
    Ok(rank(&input.periods, top_n, input.label))
}
