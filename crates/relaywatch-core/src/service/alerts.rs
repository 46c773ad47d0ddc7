//! Alerts through the service: what is firing, resolved and silenced, new silences (in the one
//! duration grammar) and rule dry runs. Rule: read-only but for the silence it adds.

use super::*;
use crate::source::Relay;

impl Service {
    pub(super) async fn alert_store(&self) -> Result<AlertStateStore, ServiceError> {
        let s = self.settings();
        let url = crate::store::state_redis_url(&s).ok_or_else(|| {
            ServiceError::State("alerts live in the state Redis, and none is configured: set [state] redis_url (or [source] redis_url)".into())
        })?;
        let conn = crate::source::redis_io::connect(
            url,
            Duration::from_millis(s.source.connect_timeout_ms),
        )
        .await
        .map_err(|e| ServiceError::State(e.to_string()))?;
        Ok(AlertStateStore::new(conn, s.state.prefix.clone()))
    }

    /// The error-rate windows as they stand at `now`: `global`, then each subject firing. Reads
    /// the shared window in the state Redis; adds nothing.
    pub(super) async fn error_windows(
        &self,
        s: &Settings,
        now: DateTime<Utc>,
    ) -> Result<Vec<WindowView>, ServiceError> {
        use crate::rules::error_rate::breached;
        use crate::store::error_rate::ErrorRateRule;
        let url = crate::store::state_redis_url(s).ok_or_else(|| {
            ServiceError::State("the error-rate window lives in the state Redis, and none is configured: set [state] redis_url (or [source] redis_url)".into())
        })?;
        let state = |e: String| ServiceError::State(e);
        let conn = crate::source::redis_io::connect(
            url,
            Duration::from_millis(s.source.connect_timeout_ms),
        )
        .await
        .map_err(|e| state(e.to_string()))?
        .multiplexed();
        let cfg = s.rules.error_rate.clone();
        let rule = ErrorRateRule::new(conn, cfg.clone(), &s.state.prefix);
        let firing = rule.firing().await.map_err(|e| state(e.to_string()))?;
        let mut subjects = vec!["global".to_string()];
        for f in firing {
            if !subjects.contains(&f) {
                subjects.push(f);
            }
        }
        let mut out = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let c = rule
                .window(&subject, now)
                .await
                .map_err(|e| state(e.to_string()))?;
            out.push(WindowView {
                subject,
                total: c.requests,
                errors: c.errors,
                window_seconds: cfg.window_seconds,
                breached: breached(&cfg, c),
            });
        }
        Ok(out)
    }

    /// Firing, silenced and recently resolved alerts, and the pause.
    pub async fn alerts(&self, now: DateTime<Utc>) -> Result<Alerts, ServiceError> {
        let mut st = self.alert_store().await?;
        let state = |e: crate::Error| ServiceError::State(e.to_string());
        let records = st.records().await.map_err(state)?;
        let silenced = st.silences(now).await.map_err(state)?;
        let paused_until = st.paused_until(now).await.map_err(state)?;
        let mut firing = Vec::new();
        let mut resolved = Vec::new();
        for r in records {
            match r.state {
                crate::render::message::AlertState::Firing => firing.push(r.alert),
                crate::render::message::AlertState::Resolved => {
                    if now - r.last_sent <= RESOLVED_SHOWN {
                        resolved.push(r.alert)
                    }
                }
            }
        }
        firing.sort_by_key(|a| std::cmp::Reverse(a.at));
        resolved.sort_by_key(|a| std::cmp::Reverse(a.at));
        Ok(Alerts {
            firing,
            silenced,
            resolved,
            paused_until,
        })
    }

    /// Silences alerts of `rule` (any when `None`) about `subject` (any when `None`) for
    /// `duration` (`30m`, `1h`, `2d`, `1h30m`: the grammar of `silences::check`).
    pub async fn silence(
        &self,
        rule: Option<&str>,
        subject: Option<&str>,
        duration: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<silences::Silence, ServiceError> {
        let spec = silences::check(rule, subject, duration)?;
        let mut switches = silences::Switches::connect(&self.settings()).await?;
        switches
            .add_silence(spec, reason, now)
            .await
            .map_err(|e| ServiceError::State(e.to_string()))
    }

    // ---- schedules --------------------------------------------------------------------------

    /// Evaluates `rule` on current data and returns what it would report; sends and stores
    /// nothing. `quota`: keys over a threshold now (from a clean state).
    pub async fn dry_run(&self, rule: &str, now: DateTime<Utc>) -> Result<DryRun, ServiceError> {
        let s = self.settings();
        match rule {
            "quota" => {
                let input = super::dry_runs::relay_of(&s)?.quota(now).await?;
                let tz = crate::tz::RelayTz::from_config(s.source.timezone_offset_hours);
                let q = &s.rules.quota;
                let (_, alerts) = crate::rules::quota::evaluate_input(
                    &input,
                    &q.limits,
                    &q.thresholds,
                    &Default::default(),
                    now,
                    tz,
                );
                Ok(DryRun {
                    rule: rule.into(),
                    alerts,
                    evaluated: input.subjects(),
                    windows: Vec::new(),
                    items: super::dry_runs::quota_items(&s, &input, now),
                })
            }
            "error_rate" => {
                let windows = self.error_windows(&s, now).await?;
                Ok(DryRun {
                    rule: rule.into(),
                    alerts: Vec::new(),
                    evaluated: windows.len(),
                    windows,
                    items: Vec::new(),
                })
            }
            other => Err(ServiceError::input(
                "rule",
                other,
                "a dry run is available for quota and error_rate (breaker follows live events)",
            )),
        }
    }
}
