//! Schedule fire locks and last-fire times against a real redis-server; rule: every test owns a
//! fresh logical DB, and several instances race through separate connections as they would in
//! separate processes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::aio::MultiplexedConnection;
use relaywatch_core::schedule::{
    self, due, fire_owner, last_fire, release_fire, set_last_fire, try_fire, try_fire_as, Spec,
    DEFAULT_GRACE,
};

const P: &str = "relaywatch:";

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn connect(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_race_for_one_fire_and_exactly_one_wins() {
    let url = relaywatch_testkit::fresh_db();
    let fire = utc("2026-11-22T01:00:00Z");
    for round in 0..20 {
        let job = format!("report-{round}");
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(3));
        let mut tasks = Vec::new();
        for i in 0..3 {
            let (url, job, barrier) = (url.clone(), job.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                let mut con = connect(&url).await;
                let me = format!("instance-{i}");
                barrier.wait().await;
                let won = try_fire_as(&mut con, P, &job, fire, &me, schedule::FIRE_LOCK_TTL)
                    .await
                    .unwrap();
                (me, won)
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            let (me, won) = t.await.unwrap();
            if won {
                winners.push(me);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let mut con = connect(&url).await;
        assert_eq!(
            fire_owner(&mut con, P, &job, fire).await.unwrap(),
            Some(winners[0].clone())
        );
    }
}

#[tokio::test]
async fn different_fire_times_and_jobs_are_independent() {
    let url = relaywatch_testkit::fresh_db();
    let mut con = connect(&url).await;
    let nine = utc("2026-11-22T01:00:00Z");
    let fifteen = utc("2026-11-22T07:00:00Z");
    assert!(try_fire(&mut con, P, "report", nine).await.unwrap());
    assert!(
        !try_fire(&mut con, P, "report", nine).await.unwrap(),
        "same fire twice"
    );
    assert!(try_fire(&mut con, P, "report", fifteen).await.unwrap());
    assert!(try_fire(&mut con, P, "leaderboard", nine).await.unwrap());
    // Another prefix is another deployment.
    assert!(try_fire(&mut con, "other:", "report", nine).await.unwrap());
    // The lock expires after its TTL (7 days by default; the key carries it).
    let ttl: i64 = redis::cmd("PTTL")
        .arg(schedule::lock::fire_key(P, "report", nine))
        .query_async(&mut con)
        .await
        .unwrap();
    let week = schedule::FIRE_LOCK_TTL.as_millis() as i64;
    assert!(ttl > week - 60_000 && ttl <= week, "{ttl}");
}

#[tokio::test]
async fn a_released_lock_can_be_taken_again_but_only_by_its_holder_releasing() {
    let url = relaywatch_testkit::fresh_db();
    let mut con = connect(&url).await;
    let fire = utc("2026-11-22T01:00:00Z");
    let ttl = Duration::from_secs(60);
    assert!(try_fire_as(&mut con, P, "report", fire, "a", ttl)
        .await
        .unwrap());
    assert!(!release_fire(&mut con, P, "report", fire, "b")
        .await
        .unwrap());
    assert!(!try_fire_as(&mut con, P, "report", fire, "b", ttl)
        .await
        .unwrap());
    assert!(release_fire(&mut con, P, "report", fire, "a")
        .await
        .unwrap());
    assert!(try_fire_as(&mut con, P, "report", fire, "b", ttl)
        .await
        .unwrap());
}

#[tokio::test]
async fn last_fire_only_moves_forward() {
    let url = relaywatch_testkit::fresh_db();
    let mut con = connect(&url).await;
    assert_eq!(last_fire(&mut con, P, "report").await.unwrap(), None);
    let t1 = utc("2026-11-22T01:00:00Z");
    let t0 = utc("2026-11-21T19:00:00Z");
    assert!(set_last_fire(&mut con, P, "report", t1).await.unwrap());
    assert!(!set_last_fire(&mut con, P, "report", t0).await.unwrap());
    assert!(!set_last_fire(&mut con, P, "report", t1).await.unwrap());
    assert_eq!(last_fire(&mut con, P, "report").await.unwrap(), Some(t1));
    assert_eq!(last_fire(&mut con, P, "other").await.unwrap(), None);
    // A damaged value is reported with its key, not read as "never fired".
    let _: () = redis::cmd("SET")
        .arg(schedule::lock::last_key(P, "broken"))
        .arg("yesterday")
        .query_async(&mut con)
        .await
        .unwrap();
    let e = last_fire(&mut con, P, "broken")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("relaywatch:schedule:last:broken"), "{e}");
}

/// The daemon's tick, by hand: two instances wake after the same sleep; the newest missed fire
/// goes out once, and the next tick sends nothing.
#[tokio::test]
async fn two_instances_after_a_sleep_send_the_missed_fire_once() {
    let url = relaywatch_testkit::fresh_db();
    let spec = Spec::parse("0 */6 * * *").unwrap();
    let tz = chrono_tz::Asia::Shanghai;
    let now = utc("2026-11-22T04:20:00Z");
    let mut sent = Vec::new();
    let mut cons = [connect(&url).await, connect(&url).await];
    set_last_fire(&mut cons[0], P, "report", utc("2026-11-19T04:00:00Z"))
        .await
        .unwrap();
    for round in 0..2 {
        for (i, con) in cons.iter_mut().enumerate() {
            let last = last_fire(con, P, "report").await.unwrap();
            let d = due(&spec, tz, last, now, DEFAULT_GRACE);
            if let Some(f) = d.fire {
                if try_fire_as(
                    con,
                    P,
                    "report",
                    f,
                    &format!("i{i}"),
                    schedule::FIRE_LOCK_TTL,
                )
                .await
                .unwrap()
                {
                    sent.push((round, i, f));
                }
            }
            if let Some(t) = d.settled_up_to() {
                set_last_fire(con, P, "report", t).await.unwrap();
            }
        }
    }
    assert_eq!(sent, [(0, 0, utc("2026-11-22T04:00:00Z"))]);
}
