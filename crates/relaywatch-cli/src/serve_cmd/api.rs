//! The HTTP API's handlers: parse the request, call the `Service`, answer JSON (errors as
//! `{ "error": {kind, message, fields} }` with the service error's status). Rule: no handler
//! does more than parse, call and serialise.

use super::*;

/// An `ServiceError` as an HTTP answer: its status and `{ "error": {kind, message, fields} }`.
pub(super) struct ApiError(pub(super) ServiceError);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code =
            StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_value(&self.0).unwrap_or(Value::Null);
        (code, Json(body)).into_response()
    }
}

pub(super) type ApiResult = std::result::Result<Response, ApiError>;

pub(super) fn ok(v: impl serde::Serialize) -> ApiResult {
    Ok(Json(serde_json::to_value(v).unwrap_or(Value::Null)).into_response())
}

/// Equal bytes, in time that depends only on the lengths.
pub fn same_token(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(super) fn unauthorized(why: &str) -> Response {
    let body = json!({ "error": {
        "kind": "unauthorized",
        "message": format!("{why}: send `Authorization: Bearer <token>`; the token is in the URL `relaywatch serve` printed (after #token=), or in [serve] token of the config"),
        "fields": [],
    }});
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(body),
    )
        .into_response()
}

pub(super) async fn require_token(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        None => unauthorized("missing bearer token"),
        Some(t) if same_token(t.as_bytes(), s.token.expose().as_bytes()) => next.run(req).await,
        Some(_) => unauthorized("wrong bearer token"),
    }
}

pub(super) fn parse_body<T: serde::de::DeserializeOwned>(
    body: &Bytes,
) -> std::result::Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError(ServiceError::input(
            "body",
            format!("line {} column {}", e.line(), e.column()),
            format!(
                "not the expected JSON ({}); see ui/API.md",
                relaywatch_core::secrets::redact(&e.to_string())
            ),
        ))
    })
}

pub(super) async fn health() -> Response {
    Json(json!({ "ok": true, "version": env!("CARGO_PKG_VERSION") })).into_response()
}

pub(super) async fn status(State(s): State<Shared>) -> ApiResult {
    ok(s.app.status(Utc::now()))
}

pub(super) async fn refresh(State(s): State<Shared>) -> ApiResult {
    ok(s.app.refresh().await)
}

pub(super) async fn snapshot(State(s): State<Shared>) -> ApiResult {
    let body = s.app.snapshot_json().await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
}

#[derive(serde::Deserialize)]
pub(super) struct ChartQuery {
    lang: Option<String>,
    theme: Option<String>,
}

pub(super) async fn chart(
    State(s): State<Shared>,
    UrlPath(file): UrlPath<String>,
    Query(q): Query<ChartQuery>,
) -> ApiResult {
    let kind = file.strip_suffix(".svg").unwrap_or(&file);
    let svg = s
        .app
        .chart_svg(kind, q.lang.as_deref(), q.theme.as_deref())
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}

pub(super) async fn get_config(State(s): State<Shared>) -> ApiResult {
    ok(s.app.config())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigBody {
    settings: Settings,
}

pub(super) async fn put_config(State(s): State<Shared>, body: Bytes) -> ApiResult {
    let b: ConfigBody = parse_body(&body)?;
    ok(s.app.save_config(b.settings)?)
}

pub(super) async fn add_channel(State(s): State<Shared>, body: Bytes) -> ApiResult {
    let input: ChannelInput = parse_body(&body)?;
    let view = s.app.add_channel(input)?;
    let mut r = ok(view)?;
    *r.status_mut() = StatusCode::CREATED;
    Ok(r)
}

pub(super) async fn update_channel(
    State(s): State<Shared>,
    UrlPath(name): UrlPath<String>,
    body: Bytes,
) -> ApiResult {
    let input: ChannelInput = parse_body(&body)?;
    ok(s.app.update_channel(&name, input)?)
}

pub(super) async fn remove_channel(
    State(s): State<Shared>,
    UrlPath(name): UrlPath<String>,
) -> ApiResult {
    ok(s.app.remove_channel(&name)?)
}

#[derive(serde::Deserialize)]
pub(super) struct LangQuery {
    lang: Option<String>,
}

pub(super) async fn test_channel(
    State(s): State<Shared>,
    UrlPath(name): UrlPath<String>,
    Query(q): Query<LangQuery>,
) -> ApiResult {
    ok(s.app.test_channel(&name, q.lang.as_deref()).await?)
}

#[derive(serde::Deserialize)]
pub(super) struct HistoryQuery {
    channel: Option<String>,
    limit: Option<usize>,
}

pub(super) async fn history(State(s): State<Shared>, Query(q): Query<HistoryQuery>) -> ApiResult {
    let limit = q.limit.unwrap_or(20).clamp(1, 100);
    ok(s.app.history(q.channel.as_deref(), limit).await?)
}

pub(super) async fn retry_dead(State(s): State<Shared>, UrlPath(id): UrlPath<String>) -> ApiResult {
    let n: u64 = id.parse().map_err(|_| {
        ApiError(ServiceError::input(
            "id",
            id.clone(),
            "must be the number of a dead-lettered item",
        ))
    })?;
    s.app.retry_dead(n).await?;
    ok(json!({ "id": n, "requeued": true }))
}

pub(super) async fn alerts(State(s): State<Shared>) -> ApiResult {
    ok(s.app.alerts(Utc::now()).await?)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SilenceBody {
    rule: Option<String>,
    subject: Option<String>,
    duration: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn silence(State(s): State<Shared>, body: Bytes) -> ApiResult {
    let b: SilenceBody = parse_body(&body)?;
    let made = s
        .app
        .silence(
            b.rule.as_deref(),
            b.subject.as_deref(),
            &b.duration,
            &b.reason,
            Utc::now(),
        )
        .await?;
    let mut r = ok(made)?;
    *r.status_mut() = StatusCode::CREATED;
    Ok(r)
}

pub(super) async fn schedules(State(s): State<Shared>) -> ApiResult {
    ok(json!({ "schedules": s.app.schedules(Utc::now()) }))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PreviewBody {
    cron: String,
    tz: Option<String>,
    lang: Option<String>,
}

pub(super) async fn preview(State(s): State<Shared>, body: Bytes) -> ApiResult {
    let b: PreviewBody = parse_body(&body)?;
    ok(s.app
        .preview_schedule(&b.cron, b.tz.as_deref(), b.lang.as_deref(), Utc::now())?)
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct SourceBody {
    redis_url: Option<String>,
}

pub(super) async fn test_source(State(s): State<Shared>, body: Bytes) -> ApiResult {
    let b: SourceBody = if body.is_empty() {
        SourceBody::default()
    } else {
        parse_body(&body)?
    };
    ok(s.app.test_source(b.redis_url.as_deref()).await?)
}

/// `?window=&top=&at=` of the leaderboard dry run.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct BoardQuery {
    window: Option<String>,
    top: Option<u32>,
    at: Option<String>,
}

pub(super) async fn dry_run(
    State(s): State<Shared>,
    UrlPath(rule): UrlPath<String>,
    Query(q): Query<BoardQuery>,
) -> ApiResult {
    use relaywatch_core::model::LeaderboardWindow;
    use relaywatch_core::service::ServiceError;
    let at = match q.at.as_deref() {
        None | Some("") => Utc::now(),
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| ServiceError::input("at", t, "an RFC 3339 time"))?,
    };
    if rule != "leaderboard" {
        return ok(s.app.dry_run(&rule, at).await?);
    }
    let window = match q.window.as_deref().unwrap_or("calendar_day") {
        "calendar_day" => LeaderboardWindow::CalendarDay,
        "rolling_24h" => LeaderboardWindow::Rolling24h,
        w => return Err(ServiceError::input("window", w, "calendar_day or rolling_24h").into()),
    };
    let top = q.top.unwrap_or(5);
    if !(1..=20).contains(&top) {
        return Err(ServiceError::input("top", top.to_string(), "between 1 and 20").into());
    }
    ok(s.app.leaderboard_dry_run(window, top, at).await?)
}

/// `?from=&to=` of a replay: RFC 3339 or a duration ago; default the last 24 h.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct ReplaySpan {
    from: Option<String>,
    to: Option<String>,
}

pub(super) async fn replay(
    State(s): State<Shared>,
    UrlPath(rule): UrlPath<String>,
    Query(span): Query<ReplaySpan>,
) -> ApiResult {
    let (from, to) = (span.from.as_deref(), span.to.as_deref());
    ok(s.app.replay_span(&rule, from, to, Utc::now()).await?)
}

pub(super) async fn ingest(State(s): State<Shared>, body: Bytes) -> ApiResult {
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError(ServiceError::input(
            "body",
            "(binary)",
            "send NDJSON: one UTF-8 JSON LogEvent per line",
        ))
    })?;
    ok(s.app.ingest(text).await?)
}
