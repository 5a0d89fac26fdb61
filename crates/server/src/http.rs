//! The HTTP API (`docs/serve.md`): routes, authentication, limits, and the `OpenAPI` description
//! generated from the handlers' annotations.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use lnp_model::{CarrierCode, Span, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::core::Event;
use crate::input::{parse_message, FieldError};
use crate::owner::{Failure, Gone, Handle, Request, Target};
use crate::settings::{ClockMode, Limits};
use crate::tokens::{Principal, Tokens};

/// The subject common name of the client certificate of a connection (mutual TLS).
#[derive(Clone, Debug)]
pub struct PeerCn(pub Option<String>);

/// Per-carrier token buckets.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<CarrierCode, (f64, std::time::Instant)>>,
}

impl RateLimiter {
    /// Takes one request from `who`'s bucket, or says how long until one is there.
    fn take(&self, who: CarrierCode, rate: u32) -> Result<(), Duration> {
        #[allow(clippy::disallowed_methods, reason = "a rate limit is wall-clock time")]
        let now = std::time::Instant::now();
        let rate = f64::from(rate.max(1));
        let mut map = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, last) = map.entry(who).or_insert((rate, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(rate);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / rate))
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub handle: Handle,
    pub tokens: Arc<Tokens>,
    pub limits: Arc<Limits>,
    pub carriers: Arc<BTreeSet<CarrierCode>>,
    pub externals: Arc<BTreeSet<CarrierCode>>,
    pub rate: Arc<RateLimiter>,
    pub mode: ClockMode,
    /// Turns true when the server is stopping: long polls and event streams end.
    pub stopping: watch::Receiver<bool>,
    /// Mutual TLS: a client certificate's CN must match the token's principal.
    pub mtls: bool,
    pub openapi: Arc<String>,
}

/// An error answer: `{"error": "...", "field": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: String,
    field: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
            field: None,
            retry_after: None,
        }
    }

    fn field(status: StatusCode, field: impl Into<String>, error: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(status, error)
        }
    }

    fn bad(e: FieldError) -> Self {
        Self {
            field: e.field,
            ..Self::new(StatusCode::BAD_REQUEST, e.error)
        }
    }
}

impl From<Gone> for ApiError {
    fn from(_: Gone) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping")
    }
}

impl From<Failure> for ApiError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Bad { field, error } => Self {
                field,
                ..Self::new(StatusCode::BAD_REQUEST, error)
            },
            Failure::Conflict(e) => Self::new(StatusCode::CONFLICT, e),
            Failure::Full(e) => Self::new(StatusCode::INSUFFICIENT_STORAGE, e),
            Failure::Unavailable(e) => Self::new(StatusCode::SERVICE_UNAVAILABLE, e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.error, "field": self.field}).to_string();
        let mut r = (self.status, [(CONTENT_TYPE, "application/json")], body).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                r.headers_mut().insert(RETRY_AFTER, v);
            }
        }
        r
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(CONTENT_TYPE, "application/json")], body).into_response()
}

/// The authenticated caller.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized = |why: &str| ApiError::new(StatusCode::UNAUTHORIZED, why);
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| unauthorized("missing token: send Authorization: Bearer TOKEN"))?;
        let text = header
            .to_str()
            .map_err(|_| unauthorized("the Authorization header is not text"))?;
        let token = text
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .ok_or_else(|| unauthorized("the Authorization header is not Bearer TOKEN"))?;
        let who = state
            .tokens
            .authenticate(token.as_bytes())
            .ok_or_else(|| unauthorized("unknown token"))?;
        if state.mtls {
            let cn = parts.extensions.get::<PeerCn>().and_then(|p| p.0.clone());
            let expected = match who {
                Principal::Admin => "admin".to_string(),
                Principal::Carrier(c) => c.to_string(),
            };
            if cn.as_deref() != Some(expected.as_str()) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "the client certificate's common name is {}, but the token is {expected}'s",
                        cn.map_or_else(|| "missing".to_string(), |c| format!("{c:?}"))
                    ),
                ));
            }
        }
        if let Principal::Carrier(c) = who {
            if let Err(wait) = state.rate.take(c, state.limits.rate_per_second) {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                return Err(ApiError {
                    retry_after: Some(secs.max(1)),
                    ..ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        format!(
                            "more than {} requests a second from {c} (rate_per_second)",
                            state.limits.rate_per_second
                        ),
                    )
                });
            }
        }
        Ok(Self(who))
    }
}

fn admin_only(who: Principal) -> Result<(), ApiError> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "an admin endpoint: a carrier's token may not use it",
        ))
    }
}

/// Reads a request body of at most `max_body_bytes`.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<bytes::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {limit} bytes (max_body_bytes)"),
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let inner = e.into_inner();
        if inner.downcast_ref::<http_body_util::LengthLimitError>().is_some()
            || inner
                .source()
                .is_some_and(|s| s.downcast_ref::<http_body_util::LengthLimitError>().is_some())
        {
            too_large()
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, format!("the body could not be read: {inner}"))
        }
    })
}

/// Query parameters: `name=value` pairs, numbers only.
fn query_u64(query: Option<&str>, name: &str, default: u64, max: Option<u64>) -> Result<u64, ApiError> {
    let Some(q) = query else { return Ok(default) };
    let mut found = None;
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == name {
            found = Some(v.to_string());
        }
    }
    let Some(v) = found else { return Ok(default) };
    let n: u64 = v.parse().map_err(|_| {
        ApiError::field(
            StatusCode::BAD_REQUEST,
            name,
            format!("{v:?} is not a whole number of zero or more"),
        )
    })?;
    if let Some(m) = max.filter(|m| n > *m) {
        return Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            name,
            format!("{n} is more than {m}"),
        ));
    }
    Ok(n)
}

// ----- schemas (for the OpenAPI description; bodies are read and written by hand) ---------

/// The trace keywords (`trace-format.md`).
#[derive(ToSchema, Serialize, Deserialize)]
#[allow(
    dead_code,
    non_camel_case_types,
    clippy::upper_case_acronyms,
    reason = "the schema lists the wire keywords"
)]
enum MsgKeyword {
    PNV,
    PNV_RESPONSE,
    SNA,
    SNA_CONFIRM,
    SNA_REJECT,
    ECA,
    ECA_CONFIRM,
    ECA_REJECT,
    COMPLETION,
    CNA,
    CNA_RECEIPT,
    CNA_CONFIRM,
    CNA_REJECT,
    CCA,
    CCA_CONFIRM,
    CCA_REJECT,
    RETARGET,
    RETARGET_CONFIRM,
    RETARGET_REJECT,
    WITHDRAW,
    WITHDRAW_CONFIRM,
    WITHDRAW_REJECT,
    REVERSAL,
    REVERSAL_CONFIRM,
    REVERSAL_REJECT,
    EMERGENCY_RETURN,
    EMERGENCY_RETURN_CONFIRM,
    EMERGENCY_RETURN_REJECT,
    DONOR_NOTIFY,
    CUTOVER,
    DTR_START,
    DTR_STOP,
    PLNR_PUBLISH,
    GIVE_BACK,
}

/// A message (or, with `to` absent, an action row) from an external carrier, in the trace
/// row's JSON Lines shape without `seq` and `time`, which the server assigns.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema: the body is read by `input::parse_message`")]
struct MessageIn {
    msg: MsgKeyword,
    /// The sender (an external carrier), 4 digits.
    #[schema(pattern = "^[0-9]{4}$", example = "9002")]
    from: String,
    /// The receiver, 4 digits; absent (or empty) for an action.
    #[schema(pattern = "^[0-9]{4}$", example = "9001")]
    to: Option<String>,
    /// The port reference.
    #[serde(rename = "ref")]
    #[schema(example = "P1")]
    port_ref: String,
    #[schema(pattern = "^[ACD]?$", example = "A")]
    category: Option<String>,
    /// Geographic numbers in national format.
    #[schema(min_items = 1, example = json!(["0255501234"]))]
    numbers: Vec<String>,
    /// A reject or response code (`003`), or per number `number:code` pairs joined by `;`.
    code: Option<String>,
    detail: Option<HashMap<String, String>>,
}

/// A trace row (`trace-format.md`, JSON Lines).
#[derive(ToSchema, Serialize)]
#[allow(dead_code, reason = "a schema: rows are written by the trace writer")]
struct RowOut {
    seq: u64,
    /// RFC 3339 with Sydney's offset.
    #[schema(format = DateTime)]
    time: String,
    from: String,
    /// Empty for an action.
    to: String,
    msg: String,
    #[serde(rename = "ref")]
    port_ref: String,
    category: String,
    numbers: Vec<String>,
    code: String,
    detail: HashMap<String, String>,
}

#[derive(ToSchema, Serialize)]
struct ErrorBody {
    error: String,
    /// The field at fault, when one is (`numbers[0]`).
    field: Option<String>,
}

#[derive(ToSchema, Serialize)]
struct Accepted {
    seq: u64,
    #[schema(format = DateTime)]
    time: String,
}

#[derive(ToSchema, Serialize)]
struct MessagesPage {
    messages: Vec<RowOut>,
    /// Pass as `after` to go on.
    next: u64,
}

#[derive(ToSchema, Serialize)]
struct ClockOut {
    #[schema(format = DateTime)]
    now: String,
    /// `manual`, `realtime` or `scaled:N`.
    mode: String,
    /// When the simulation next has something to do (null: nothing is queued): a client that
    /// drives a manual clock advances `to` it.
    #[schema(format = DateTime)]
    next_event: Option<String>,
}

/// Exactly one of `by` (a duration: `15m`, `4h`, `2d`, `5bd`) and `to` (an RFC 3339 instant).
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema: the body is read by hand")]
struct AdvanceIn {
    #[schema(example = "15m")]
    by: Option<String>,
    #[schema(format = DateTime)]
    to: Option<String>,
}

#[derive(ToSchema, Serialize)]
struct AdvanceOut {
    #[schema(format = DateTime)]
    now: String,
    /// Trace rows the advance wrote (messages sent and actions taken).
    delivered: u64,
}

#[derive(ToSchema, Serialize)]
struct HealthOut {
    status: String,
    #[schema(format = DateTime)]
    now: String,
}

#[derive(ToSchema, Serialize)]
#[allow(dead_code, reason = "a schema")]
struct FindingOut {
    rule: String,
    seq: Vec<u64>,
    #[serde(rename = "ref")]
    port_ref: Option<String>,
    numbers: Vec<String>,
    message: String,
}

#[derive(ToSchema, Serialize)]
#[allow(dead_code, reason = "a schema")]
struct StatisticOut {
    rule: String,
    status: String,
    value: String,
}

#[derive(ToSchema, Serialize)]
#[allow(dead_code, reason = "a schema")]
struct MalformedOut {
    line: u64,
    message: String,
}

#[derive(ToSchema, Serialize)]
#[allow(dead_code, reason = "a schema")]
struct NotJudgedOut {
    #[serde(rename = "ref")]
    port_ref: String,
    lines: Vec<u64>,
    reason: String,
}

#[derive(ToSchema, Serialize)]
#[allow(dead_code, reason = "a schema")]
struct SummaryOut {
    rows: u64,
    violations: u64,
    by_rule: HashMap<String, u64>,
}

/// The live audit in the `lnpsim audit --format json` shape (`rules.md`, "Findings").
#[derive(ToSchema, Serialize)]
#[allow(dead_code, reason = "a schema: the report writes itself")]
struct FindingsReport {
    findings: Vec<FindingOut>,
    statistics: Vec<StatisticOut>,
    not_checked: Vec<String>,
    not_checked_reasons: HashMap<String, String>,
    malformed_rows: Vec<MalformedOut>,
    reordered_rows: Vec<u64>,
    not_judged: Vec<NotJudgedOut>,
    summary: SummaryOut,
}

/// Something the story asks an external carrier to do (`submit`, `withdraw`, `return`,
/// `give_back`, `take_back`), with the customer's details.
#[derive(ToSchema, Serialize)]
#[allow(dead_code, reason = "a schema")]
struct TaskOut {
    id: u64,
    #[schema(format = DateTime)]
    at: String,
    carrier: String,
    task: String,
    #[serde(rename = "ref")]
    port_ref: Option<String>,
    numbers: Option<Vec<String>>,
}

#[derive(ToSchema, Serialize)]
#[allow(dead_code, reason = "a schema")]
struct TasksPage {
    tasks: Vec<TaskOut>,
    next: u64,
}

// ----- handlers -----------------------------------------------------------------------

/// Liveness and the virtual clock, without a token.
#[utoipa::path(get, path = "/v1/health", tag = "server", security(()),
    responses((status = 200, description = "the server is up", body = HealthOut)))]
async fn health(State(s): State<AppState>) -> Result<Response, ApiError> {
    let (now, _) = s.handle.ask(|reply| Request::Now { reply }).await?;
    Ok(json_response(
        StatusCode::OK,
        format!("{{\"status\":\"ok\",\"now\":\"{now}\"}}"),
    ))
}

/// This description (`OpenAPI` 3.1).
#[utoipa::path(get, path = "/openapi.json", tag = "server", security(()),
    responses((status = 200, description = "the OpenAPI description", content_type = "application/json", body = Object)))]
async fn openapi_json(State(s): State<AppState>) -> Response {
    json_response(StatusCode::OK, s.openapi.to_string())
}

/// Sends a message (or an action row) as an external carrier. It is recorded at the current
/// virtual instant and delivered to its receiver then; answers come as the clock moves.
#[utoipa::path(post, path = "/v1/messages", tag = "messages", request_body = MessageIn,
    responses(
        (status = 202, description = "recorded (and journaled)", body = Accepted),
        (status = 400, description = "malformed, or a field names no such thing; nothing recorded", body = ErrorBody),
        (status = 401, description = "no or unknown token", body = ErrorBody),
        (status = 403, description = "`from` is another carrier than the token's", body = ErrorBody),
        (status = 413, description = "body over max_body_bytes", body = ErrorBody),
        (status = 429, description = "over rate_per_second", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
        (status = 503, description = "stopping, or the journal cannot be written", body = ErrorBody),
        (status = 507, description = "the trace holds max_rows rows", body = ErrorBody),
    ))]
async fn post_message(
    State(s): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&headers, body, s.limits.max_body_bytes).await?;
    let input = parse_message(&bytes).map_err(ApiError::bad)?;
    if let Principal::Carrier(c) = who {
        if input.from != c {
            return Err(ApiError::field(
                StatusCode::FORBIDDEN,
                "from",
                format!("the token is {c}'s: it cannot send as {}", input.from),
            ));
        }
    }
    if !s.carriers.contains(&input.from) {
        return Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            "from",
            format!("carrier {} is not in this market", input.from),
        ));
    }
    if !s.externals.contains(&input.from) {
        return Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            "from",
            format!(
                "carrier {} is played by the simulator; only an external carrier's messages come from outside",
                input.from
            ),
        ));
    }
    if let Some(to) = input.to.filter(|t| !s.carriers.contains(t)) {
        return Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            "to",
            format!("carrier {to} is not in this market"),
        ));
    }
    let row = s.handle.ask(|reply| Request::Post { input, reply }).await??;
    Ok(json_response(
        StatusCode::ACCEPTED,
        format!("{{\"seq\":{},\"time\":\"{}\"}}", row.record.seq, row.record.time),
    ))
}

/// The trace rows after `after` that the caller may see, oldest first. With `wait`, holds
/// until there is one or the wait ends (long poll).
#[utoipa::path(get, path = "/v1/messages", tag = "messages",
    params(
        ("after" = Option<u64>, Query, description = "the last seq processed (default 0)"),
        ("wait" = Option<u64>, Query, description = "seconds to wait for a row (at most 60)", maximum = 60),
    ),
    responses(
        (status = 200, description = "rows, oldest first", body = MessagesPage),
        (status = 400, description = "a bad parameter", body = ErrorBody),
        (status = 401, description = "no or unknown token", body = ErrorBody),
        (status = 403, description = "client certificate does not match the token", body = ErrorBody),
        (status = 429, description = "over rate_per_second", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
    ))]
async fn get_messages(State(s): State<AppState>, Auth(who): Auth, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let after = query_u64(q.as_deref(), "after", 0, None)?;
    let wait = query_u64(q.as_deref(), "wait", 0, Some(s.limits.max_wait_secs.min(60)))?;
    let limit = s.limits.page_rows;
    let mut head = s.handle.head.clone();
    let mut stopping = s.stopping.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    let rows = loop {
        head.borrow_and_update();
        let rows = s
            .handle
            .ask(|reply| Request::Rows {
                viewer: who,
                after,
                limit,
                reply,
            })
            .await?;
        if !rows.is_empty() || wait == 0 || *stopping.borrow() {
            break rows;
        }
        tokio::select! {
            r = head.changed() => if r.is_err() { break rows },
            () = tokio::time::sleep_until(deadline) => break rows,
            _ = stopping.changed() => break rows,
        }
    };
    let next = rows.last().map_or(after, |r| r.record.seq);
    let mut body = String::with_capacity(64 + rows.iter().map(|r| r.json().len() + 1).sum::<usize>());
    body.push_str("{\"messages\":[");
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(r.json());
    }
    body.push_str("],\"next\":");
    body.push_str(&next.to_string());
    body.push('}');
    Ok(json_response(StatusCode::OK, body))
}

/// Server-Sent Events: rows as `event: message` and live findings as `event: finding`, each
/// with `id: SEQ` (a finding: the seq of the row it follows). Resume with `Last-Event-ID`.
#[utoipa::path(get, path = "/v1/events", tag = "messages",
    params(
        ("Last-Event-ID" = Option<u64>, Header, description = "resume after this row"),
        ("after" = Option<u64>, Query, description = "resume after this row (when no Last-Event-ID)"),
    ),
    responses(
        (status = 200, description = "an event stream: each event's data is a trace row (event: message) or a finding (event: finding) as JSON", content_type = "text/event-stream", body = serde_json::Value),
        (status = 400, description = "a bad parameter", body = ErrorBody),
        (status = 401, description = "no or unknown token", body = ErrorBody),
        (status = 403, description = "client certificate does not match the token", body = ErrorBody),
        (status = 429, description = "over rate_per_second", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
    ))]
async fn events(
    State(s): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let from_header = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::field(StatusCode::BAD_REQUEST, "Last-Event-ID", "not a whole number (a seq)")
                })?,
        ),
        None => None,
    };
    let after = match from_header {
        Some(n) => n,
        None => query_u64(q.as_deref(), "after", 0, None)?,
    };
    let (tx, rx) = mpsc::channel::<Result<SseEvent, Infallible>>(s.limits.sse_backlog.max(1));
    tokio::spawn(stream_events(s, who, after, tx));
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// Feeds one event stream; ends it when the client is gone, stalls past `sse_stall_secs`, or
/// the server stops.
async fn stream_events(s: AppState, who: Principal, mut after: u64, tx: mpsc::Sender<Result<SseEvent, Infallible>>) {
    let mut head = s.handle.head.clone();
    let mut stopping = s.stopping.clone();
    let stall = Duration::from_secs(s.limits.sse_stall_secs);
    let limit = s.limits.sse_backlog.max(1);
    let mut finding_from = None;
    loop {
        head.borrow_and_update();
        let Ok((events, next)) = s
            .handle
            .ask(|reply| Request::Events {
                viewer: who,
                after,
                finding_from,
                limit,
                reply,
            })
            .await
        else {
            return;
        };
        finding_from = Some(next);
        let idle = events.is_empty();
        for e in events {
            let ev = match e {
                Event::Row(r) => {
                    after = r.record.seq;
                    SseEvent::default()
                        .event("message")
                        .id(r.record.seq.to_string())
                        .data(r.json())
                }
                Event::Finding(f) => SseEvent::default()
                    .event("finding")
                    .id(f.position.to_string())
                    .data(&*f.json),
            };
            match tokio::time::timeout(stall, tx.send(Ok(ev))).await {
                Ok(Ok(())) => {}
                // Gone, or too slow: cut off; it resumes by seq.
                _ => return,
            }
        }
        if *stopping.borrow() {
            return;
        }
        if idle {
            tokio::select! {
                r = head.changed() => if r.is_err() { return },
                _ = stopping.changed() => return,
                () = tx.closed() => return,
            }
        }
    }
}

/// The virtual clock (any token).
#[utoipa::path(get, path = "/v1/clock", tag = "clock",
    responses(
        (status = 200, description = "now and the clock mode", body = ClockOut),
        (status = 401, description = "no or unknown token", body = ErrorBody),
        (status = 403, description = "client certificate does not match the token", body = ErrorBody),
        (status = 429, description = "over rate_per_second", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
    ))]
async fn clock(State(s): State<AppState>, Auth(_): Auth) -> Result<Response, ApiError> {
    let (now, next) = s.handle.ask(|reply| Request::Now { reply }).await?;
    let next = next.map_or_else(|| "null".to_string(), |t| format!("\"{t}\""));
    Ok(json_response(
        StatusCode::OK,
        format!("{{\"now\":\"{now}\",\"mode\":\"{}\",\"next_event\":{next}}}", s.mode),
    ))
}

fn parse_advance(bytes: &[u8]) -> Result<Target, ApiError> {
    let bad = |field: Option<&str>, e: String| ApiError {
        field: field.map(str::to_string),
        ..ApiError::new(StatusCode::BAD_REQUEST, e)
    };
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| bad(None, format!("the body is not valid JSON: {e}")))?;
    let serde_json::Value::Object(map) = v else {
        return Err(bad(
            None,
            "the body is a JSON object: {\"by\": \"15m\"} or {\"to\": INSTANT}".into(),
        ));
    };
    if let Some(k) = map.keys().find(|k| *k != "by" && *k != "to") {
        return Err(bad(Some(k), "unknown field; give `by` or `to`".into()));
    }
    let text = |k: &str| -> Result<Option<String>, ApiError> {
        match map.get(k) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(Some(k), "expected a string".into())),
        }
    };
    match (text("by")?, text("to")?) {
        (Some(by), None) => {
            let span: Span = by
                .parse()
                .map_err(|e| bad(Some("by"), format!("{e} (a duration: 15m, 4h, 2d, 5bd)")))?;
            Ok(Target::By(span))
        }
        (None, Some(to)) => {
            let t: Timestamp = to
                .parse()
                .map_err(|e| bad(Some("to"), format!("{e} (an RFC 3339 instant with offset)")))?;
            Ok(Target::To(t))
        }
        (Some(_), Some(_)) => Err(bad(Some("to"), "give `by` or `to`, not both".into())),
        (None, None) => Err(bad(None, "give `by` (a duration) or `to` (an instant)".into())),
    }
}

/// Runs every event due up to the instant, in order, and answers once the state has settled
/// (admin; manual clock only).
#[utoipa::path(post, path = "/v1/clock/advance", tag = "clock", request_body = AdvanceIn,
    responses(
        (status = 200, description = "the clock moved", body = AdvanceOut),
        (status = 400, description = "a bad duration or instant, or one before now", body = ErrorBody),
        (status = 401, description = "no or unknown token", body = ErrorBody),
        (status = 403, description = "not the admin", body = ErrorBody),
        (status = 409, description = "the clock is realtime or scaled", body = ErrorBody),
        (status = 429, description = "over rate_per_second (a carrier's token)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
        (status = 413, description = "body over max_body_bytes", body = ErrorBody),
        (status = 503, description = "stopping, or the journal cannot be written", body = ErrorBody),
    ))]
async fn advance(
    State(s): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    admin_only(who)?;
    let bytes = read_body(&headers, body, s.limits.max_body_bytes).await?;
    let target = parse_advance(&bytes)?;
    let (now, delivered) = s.handle.ask(|reply| Request::Advance { target, reply }).await??;
    Ok(json_response(
        StatusCode::OK,
        format!("{{\"now\":\"{now}\",\"delivered\":{delivered}}}"),
    ))
}

/// The live audit so far, as `lnpsim audit --format json` prints it; a carrier sees the
/// findings on ports it takes part in.
#[utoipa::path(get, path = "/v1/findings", tag = "audit",
    responses(
        (status = 200, description = "the live audit", body = FindingsReport),
        (status = 401, description = "no or unknown token", body = ErrorBody),
        (status = 403, description = "client certificate does not match the token", body = ErrorBody),
        (status = 429, description = "over rate_per_second", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
    ))]
async fn findings(State(s): State<AppState>, Auth(who): Auth) -> Result<Response, ApiError> {
    let report = s.handle.ask(|reply| Request::Report { viewer: who, reply }).await?;
    Ok(json_response(StatusCode::OK, report))
}

/// The whole trace so far as JSON Lines (admin), with the instant it was taken at.
#[utoipa::path(get, path = "/v1/trace", tag = "audit",
    responses(
        (status = 200, description = "the trace", content_type = "application/x-ndjson", body = String,
            headers(("X-Lnpsim-Now" = String, description = "the virtual instant the trace stands at"))),
        (status = 401, description = "no or unknown token", body = ErrorBody),
        (status = 403, description = "not the admin", body = ErrorBody),
        (status = 429, description = "over rate_per_second (a carrier's token)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
    ))]
async fn trace(State(s): State<AppState>, Auth(who): Auth) -> Result<Response, ApiError> {
    admin_only(who)?;
    let (now, rows) = s.handle.ask(|reply| Request::Trace { reply }).await?;
    let rows = Arc::new(rows);
    let chunks = rows.len().div_ceil(1024);
    let stream = futures_util::stream::iter((0..chunks).map(move |i| {
        let mut chunk = String::new();
        for r in rows.iter().skip(i * 1024).take(1024) {
            chunk.push_str(r.json());
            chunk.push('\n');
        }
        Ok::<_, Infallible>(chunk)
    }));
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    if let Ok(v) = HeaderValue::from_str(&now.to_string()) {
        r.headers_mut().insert("x-lnpsim-now", v);
    }
    Ok(r)
}

/// What the story has asked the caller's carrier to do so far (the admin: every external
/// carrier), with an id above `after`: ports to submit (with the customer's details), to
/// withdraw, to return; numbers to give back. Not trace rows.
#[utoipa::path(get, path = "/v1/tasks", tag = "messages",
    params(("after" = Option<u64>, Query, description = "the last task id seen (default 0)")),
    responses(
        (status = 200, description = "tasks, oldest first", body = TasksPage),
        (status = 400, description = "a bad parameter", body = ErrorBody),
        (status = 401, description = "no or unknown token", body = ErrorBody),
        (status = 403, description = "client certificate does not match the token", body = ErrorBody),
        (status = 429, description = "over rate_per_second", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
    ))]
async fn tasks(State(s): State<AppState>, Auth(who): Auth, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let after = query_u64(q.as_deref(), "after", 0, None)?;
    let tasks = s
        .handle
        .ask(|reply| Request::Tasks {
            viewer: who,
            after,
            reply,
        })
        .await?;
    let next = tasks.last().map_or(after, |t| t.id);
    let items: Vec<&str> = tasks.iter().map(|t| &*t.json).collect();
    Ok(json_response(
        StatusCode::OK,
        format!("{{\"tasks\":[{}],\"next\":{next}}}", items.join(",")),
    ))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint (GET /openapi.json lists them)")
}

async fn not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this endpoint does not take that method",
    )
}

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "lnpsim serve",
        description = "A scenario's Local Number Portability market as a network service: outside systems play the \
                       external carriers, the simulator plays the rest, owns the virtual clock and audits every row \
                       live against the C540 rulebook."
    ),
    paths(health, openapi_json, post_message, get_messages, events, clock, advance, findings, trace, tasks),
    components(schemas(ErrorBody, MessageIn, RowOut, Accepted, MessagesPage, ClockOut, AdvanceIn, AdvanceOut,
        HealthOut, FindingsReport, TasksPage)),
    modifiers(&SecurityAddon),
    security(("bearer" = [])),
)]
struct ApiDoc;

/// The `OpenAPI` 3.1 description of the API.
pub fn openapi() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/openapi.json", get(openapi_json))
        .route("/v1/messages", post(post_message).get(get_messages))
        .route("/v1/events", get(events))
        .route("/v1/clock", get(clock))
        .route("/v1/clock/advance", post(advance))
        .route("/v1/findings", get(findings))
        .route("/v1/trace", get(trace))
        .route("/v1/tasks", get(tasks))
        .fallback(not_found)
        .method_not_allowed_fallback(not_allowed)
        .with_state(state)
}
