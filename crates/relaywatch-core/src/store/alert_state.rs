//! Alert state in relaywatch's Redis: each (rule, subject)'s last transition and its repeats,
//! the pause, silences and alerts held for a digest, so every instance decides alike. Rule: the
//! decisions are the pure ones of `rules::alert_state`; this module only reads and writes keys,
//! and claims each repeat once (`SET NX`) so one instance sends it.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::error::Result;
use crate::model::{Alert, RuleKind};
use crate::rules::alert_state::{apply, due_repeats, AlertRecord, RepeatPolicy, Silence};
use crate::source::redis_io::{self, Conn};

/// Held alerts due for their digest: (channel, release time, alerts oldest first).
#[derive(Debug, Clone, PartialEq)]
pub struct DueDigest {
    pub channel: String,
    pub release_at: DateTime<Utc>,
    pub alerts: Vec<Alert>,
}

/// Alert state in Redis, under the prefix: `alerts:records` (hash `<rule>:<subject>` → record),
/// `alerts:repeat:<…>` (one claim per repeat), `alerts:paused_until` (ms), `silences` (hash id →
/// silence) and `silences:seq`, `digest:due` (zset `<release ms>:<channel>` → release ms) and
/// `digest:<release ms>:<channel>` (list of held alerts).
pub struct AlertStateStore {
    conn: Conn,
    prefix: String,
}

fn cmd(name: &str, key: &str) -> redis::Cmd {
    let mut c = redis::cmd(name);
    c.arg(key);
    c
}

fn ms_time(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

impl AlertStateStore {
    pub fn new(conn: Conn, prefix: impl Into<String>) -> Self {
        AlertStateStore {
            conn,
            prefix: prefix.into(),
        }
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    /// Record `alert`'s state at `now`, sent or held back (its last word until the next).
    pub async fn record_sent(&mut self, alert: &Alert, now: DateTime<Utc>) -> Result<()> {
        let records = self.key("alerts:records");
        let field = format!("{}:{}", alert.rule.as_str(), alert.subject);
        let mut get = cmd("HGET", &records);
        get.arg(&field);
        let prev: Option<AlertRecord> =
            redis_io::text(&self.conn.one(get).await?).and_then(|t| serde_json::from_str(&t).ok());
        let next = apply(prev.as_ref(), alert, now);
        let mut set = cmd("HSET", &records);
        set.arg(&field)
            .arg(serde_json::to_string(&next).unwrap_or_default());
        self.conn.one(set).await?;
        Ok(())
    }

    /// Every record.
    pub async fn records(&mut self) -> Result<Vec<AlertRecord>> {
        let v = self
            .conn
            .one(cmd("HGETALL", &self.key("alerts:records")))
            .await?;
        let mut out: Vec<AlertRecord> = redis_io::pairs(&v)
            .into_iter()
            .filter_map(|(_, t)| serde_json::from_str(&t).ok())
            .collect();
        out.sort_by(|a, b| (a.rule.as_str(), &a.subject).cmp(&(b.rule.as_str(), &b.subject)));
        Ok(out)
    }

    /// The repeats due at `now` that this instance claimed (each repeat is claimed once across
    /// instances); their records are advanced.
    pub async fn take_due_repeats(
        &mut self,
        policy: RepeatPolicy,
        now: DateTime<Utc>,
    ) -> Result<Vec<Alert>> {
        let due = due_repeats(&self.records().await?, policy, now);
        let mut out = Vec::new();
        for (next, alert) in due {
            let mut claim = cmd(
                "SET",
                &self.key(&format!(
                    "alerts:repeat:{}:{}:{}",
                    next.rule.as_str(),
                    next.subject,
                    alert.episode
                )),
            );
            claim.arg("1").arg("NX").arg("EX").arg(30 * 86_400);
            if !matches!(self.conn.one(claim).await?, redis::Value::Okay) {
                continue;
            }
            let mut set = cmd("HSET", &self.key("alerts:records"));
            set.arg(format!("{}:{}", next.rule.as_str(), next.subject))
                .arg(serde_json::to_string(&next).unwrap_or_default());
            self.conn.one(set).await?;
            out.push(alert);
        }
        Ok(out)
    }

    /// Pause every alert until `until`.
    pub async fn pause(&mut self, until: DateTime<Utc>) -> Result<()> {
        let mut c = cmd("SET", &self.key("alerts:paused_until"));
        c.arg(until.timestamp_millis())
            .arg("PXAT")
            .arg(until.timestamp_millis().max(1));
        self.conn.one(c).await?;
        Ok(())
    }

    /// End a pause.
    pub async fn resume(&mut self) -> Result<()> {
        self.conn
            .one(cmd("DEL", &self.key("alerts:paused_until")))
            .await?;
        Ok(())
    }

    /// The end of the pause in force at `now`, if any.
    pub async fn paused_until(&mut self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let v = self
            .conn
            .one(cmd("GET", &self.key("alerts:paused_until")))
            .await?;
        Ok(redis_io::text(&v)
            .and_then(|t| t.trim().parse::<i64>().ok())
            .and_then(ms_time)
            .filter(|u| now < *u))
    }

    /// Create a silence from `now` for `duration`.
    pub async fn add_silence(
        &mut self,
        rule: Option<RuleKind>,
        subject: Option<String>,
        ends_at: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Silence> {
        let n = match self
            .conn
            .one(cmd("INCR", &self.key("silences:seq")))
            .await?
        {
            redis::Value::Int(n) => n,
            _ => 0,
        };
        let s = Silence {
            id: format!("s{n}"),
            rule,
            subject,
            starts_at: now,
            ends_at,
            reason: reason.to_string(),
        };
        let mut c = cmd("HSET", &self.key("silences"));
        c.arg(&s.id)
            .arg(serde_json::to_string(&s).unwrap_or_default());
        self.conn.one(c).await?;
        Ok(s)
    }

    /// Silences still in force at `now`, oldest first; those ended over a day ago are removed.
    pub async fn silences(&mut self, now: DateTime<Utc>) -> Result<Vec<Silence>> {
        let key = self.key("silences");
        let v = self.conn.one(cmd("HGETALL", &key)).await?;
        let mut active = Vec::new();
        let mut stale = Vec::new();
        for (id, t) in redis_io::pairs(&v) {
            match serde_json::from_str::<Silence>(&t) {
                Ok(s) if s.ends_at > now => active.push(s),
                Ok(s) if now - s.ends_at < Duration::days(1) => {}
                _ => stale.push(id),
            }
        }
        if !stale.is_empty() {
            let mut c = cmd("HDEL", &key);
            for id in &stale {
                c.arg(id);
            }
            self.conn.one(c).await?;
        }
        active.sort_by(|a, b| a.starts_at.cmp(&b.starts_at).then(a.id.cmp(&b.id)));
        Ok(active)
    }

    /// End a silence now; false when no silence has that id.
    pub async fn expire_silence(&mut self, id: &str, now: DateTime<Utc>) -> Result<bool> {
        let key = self.key("silences");
        let mut get = cmd("HGET", &key);
        get.arg(id);
        let Some(mut s) = redis_io::text(&self.conn.one(get).await?)
            .and_then(|t| serde_json::from_str::<Silence>(&t).ok())
        else {
            return Ok(false);
        };
        s.ends_at = s.ends_at.min(now);
        let mut set = cmd("HSET", &key);
        set.arg(id)
            .arg(serde_json::to_string(&s).unwrap_or_default());
        self.conn.one(set).await?;
        Ok(true)
    }

    /// Hold an alert for `channel`'s digest at `release_at`.
    pub async fn hold(
        &mut self,
        channel: &str,
        alert: &Alert,
        release_at: DateTime<Utc>,
    ) -> Result<()> {
        let ms = release_at.timestamp_millis();
        let member = format!("{ms}:{channel}");
        let mut push = cmd("RPUSH", &self.key(&format!("digest:{member}")));
        push.arg(serde_json::to_string(alert).unwrap_or_default());
        let mut due = cmd("ZADD", &self.key("digest:due"));
        due.arg(ms).arg(&member);
        self.conn.batch(vec![push, due]).await?;
        Ok(())
    }

    /// Digests whose quiet hours have ended by `now`. Reading does not remove them: enqueue
    /// each under `digest_key` (the outbox keeps one per key, so instances that read the same
    /// digest send it once), then `ack` it.
    pub async fn due_digests(&mut self, now: DateTime<Utc>) -> Result<Vec<DueDigest>> {
        let mut c = cmd("ZRANGEBYSCORE", &self.key("digest:due"));
        c.arg("-inf").arg(now.timestamp_millis());
        let members = redis_io::strings(&self.conn.one(c).await?);
        let lists = members
            .iter()
            .map(|m| {
                let mut c = cmd("LRANGE", &self.key(&format!("digest:{m}")));
                c.arg(0).arg(-1);
                c
            })
            .collect();
        let replies = self.conn.batch(lists).await?;
        Ok(members
            .iter()
            .zip(replies)
            .filter_map(|(m, v)| {
                let (ms, channel) = m.split_once(':')?;
                Some(DueDigest {
                    channel: channel.to_string(),
                    release_at: ms_time(ms.parse().ok()?)?,
                    alerts: redis_io::strings(&v)
                        .iter()
                        .filter_map(|t| serde_json::from_str(t).ok())
                        .collect(),
                })
            })
            .collect())
    }

    /// Forget a digest once it is queued.
    pub async fn ack_digest(&mut self, d: &DueDigest) -> Result<()> {
        let member = format!("{}:{}", d.release_at.timestamp_millis(), d.channel);
        let del = cmd("DEL", &self.key(&format!("digest:{member}")));
        let mut rem = cmd("ZREM", &self.key("digest:due"));
        rem.arg(&member);
        self.conn.batch(vec![del, rem]).await?;
        Ok(())
    }
}
