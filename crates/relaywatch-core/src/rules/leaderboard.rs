//! Leaderboard: the top N API keys by rated cost over yesterday (the relay's calendar day) or a
//! rolling 24 h, with totals over every key. Rule: a period without usage still yields a
//! leaderboard (the "no usage" message), never silence. `rank` is pure; the keys' usage over
//! the period is read by each relay's source (CRS: `source/crs/leaderboard.rs`).

use crate::model::KeyUsage;
pub use crate::model::{KeyPeriod, LeaderboardWindow};
use crate::render::messages::Leaderboard;

/// Allowed `top_n`.
pub const TOP_N: (u32, u32) = (1, 20);
pub const DEFAULT_TOP_N: u32 = 5;

/// Rank keys by cost (then requests, then id) and total every key.
pub fn rank(keys: &[KeyPeriod], top_n: u32, period: String) -> Leaderboard {
    let used = |k: &KeyPeriod| k.usage.cost_usd > 0.0 || k.usage.requests > 0;
    let mut top: Vec<KeyUsage> = keys
        .iter()
        .filter(|k| used(k) && !k.deleted)
        .map(|k| k.usage.clone())
        .collect();
    top.sort_by(|a, b| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then(b.requests.cmp(&a.requests))
            .then(a.id.cmp(&b.id))
    });
    top.truncate(top_n.clamp(TOP_N.0, TOP_N.1) as usize);
    Leaderboard {
        period,
        top,
        keys_with_usage: keys.iter().filter(|k| used(k)).count() as u64,
        total_requests: keys.iter().map(|k| k.usage.requests).sum(),
        total_tokens: keys.iter().map(|k| k.usage.all_tokens).sum(),
        total_cost_usd: keys.iter().map(|k| k.usage.cost_usd).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(id: &str, requests: u64, cost: f64, deleted: bool) -> KeyPeriod {
        KeyPeriod {
            usage: KeyUsage {
                id: id.into(),
                name: format!("n-{id}"),
                requests,
                all_tokens: requests * 100,
                cost_usd: cost,
            },
            deleted,
        }
    }

    #[test]
    fn ranks_by_cost_and_totals_every_key() {
        let keys = [
            k("a", 10, 1.0, false),
            k("b", 5, 3.0, false),
            k("c", 1, 3.0, false),
            k("d", 0, 0.0, false),
            k("e", 50, 9.0, true),
            k("f", 2, 0.5, false),
        ];
        let b = rank(&keys, 3, "2026-11-21".into());
        let ids: Vec<&str> = b.top.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
        assert_eq!(b.keys_with_usage, 5);
        assert_eq!(b.total_requests, 68);
        assert_eq!(b.total_tokens, 6_800);
        assert!((b.total_cost_usd - 16.5).abs() < 1e-9);
    }

    #[test]
    fn no_usage_is_an_empty_board_not_silence() {
        let b = rank(&[k("d", 0, 0.0, false)], 5, "2026-11-21".into());
        assert!(b.top.is_empty());
        assert_eq!(b.keys_with_usage, 0);
        assert_eq!(b.period, "2026-11-21");
    }
}
