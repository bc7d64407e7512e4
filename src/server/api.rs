//! The JSON API handlers of `/api/v1`. Reads are answered inline (sled reads come
//! from its cache); matching and writes run on the blocking pool, and every write
//! is flushed to disk before it is acknowledged.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::engine::Submitted;
use crate::pipeline::Decision;
use crate::registry::Reason;
use crate::review::{
    notice_for, notices_csv as render_csv, parse_batch, platform_export, statements_csv,
    BatchFormat, ExportOptions, Permission, Platform, ReviewError, State,
};
use crate::store::Filter;

type Shared = AxState<Arc<AppState>>;

/// The default and the largest page size.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

/// Runs blocking work (matching, writes) off the async runtime.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ReviewError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => {
            tracing::error!("a blocking task failed: {e}");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the server log",
            ))
        }
    }
}

/// `POST /api/v1/listings`.
pub async fn ingest(
    AxState(state): Shared,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Permission::Ingest)?;
    let format = match headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        Some(ct) if ct.starts_with("application/x-ndjson") => BatchFormat::JsonLines,
        _ => BatchFormat::JsonArray,
    };
    let listings = parse_batch(&body, format)?;
    let count = listings.len();
    let permit = state.ingest_permits.acquire().await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        )
    })?;
    let submitted = state.engine.submit(listings, caller.name.clone()).await;
    // The next batch may be matched while this one is written to disk; the answer
    // waits for the disk.
    drop(permit);
    match submitted.map_err(ApiError::from)? {
        Submitted::Stored(findings) => {
            state.store.flush_async().await?;
            Ok(Json(json!({ "listings": count, "findings": findings })).into_response())
        }
        // JetStream holds them durably: the findings come later, through workers.
        Submitted::Queued(queued) => Ok(Json(
            json!({ "listings": count, "queued": queued, "findings": [] }),
        )
        .into_response()),
    }
}

/// Query of `GET /api/v1/findings`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    mark: Option<String>,
    seller: Option<String>,
    min_score: Option<f64>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// Turns query parameters into a filter, refusing unknown states.
pub fn filter_of(
    state: Option<&str>,
    mark: Option<String>,
    seller: Option<String>,
    min_score: Option<f64>,
) -> Result<Filter, ApiError> {
    let state = match state.filter(|s| !s.is_empty()) {
        Some(s) => Some(
            s.parse::<State>()
                .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("state: {e}")))?,
        ),
        None => None,
    };
    if min_score.is_some_and(|m| !m.is_finite()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "min_score: must be a number",
        ));
    }
    Ok(Filter {
        state,
        mark: mark.filter(|s| !s.is_empty()),
        seller: seller.filter(|s| !s.is_empty()),
        min_score,
    })
}

/// `GET /api/v1/findings`.
pub async fn list_findings(
    AxState(state): Shared,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let filter = filter_of(q.state.as_deref(), q.mark, q.seller, q.min_score)?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let page = state.store.list_raw(&filter, limit, q.cursor.as_deref())?;
    // The stored JSON of each finding is already its API form: splice it in.
    let mut body = Vec::with_capacity(page.items.iter().map(|i| i.len() + 1).sum::<usize>() + 64);
    body.extend_from_slice(b"{\"items\":[");
    for (i, item) in page.items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item);
    }
    body.extend_from_slice(b"],\"next\":");
    body.extend(serde_json::to_vec(&page.next).expect("an optional string serializes"));
    body.push(b'}');
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `GET /api/v1/findings/{id}`: the finding with its audit history and listing.
pub async fn get_finding(
    AxState(state): Shared,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let finding = state.store.existing_finding(&id)?;
    let listing = state.store.listing(&finding.listing_id)?;
    let history = state.store.audit(&id)?;
    let mut body = serde_json::to_value(&finding).expect("a finding serializes");
    body["history"] = serde_json::to_value(history).expect("audit entries serialize");
    body["listing"] = serde_json::to_value(listing.map(|l| l.listing)).expect("serializes");
    Ok(Json(body).into_response())
}

/// Body of a transition.
#[derive(Debug, Deserialize)]
pub struct TransitionBody {
    to: String,
    version: u64,
    #[serde(default)]
    note: String,
    /// Why a dismissal was made: what it banks (see [`crate::registry::Reason`]).
    #[serde(default)]
    reason: Option<String>,
}

/// The longest note accepted.
const MAX_NOTE: usize = 2_000;

/// `POST /api/v1/findings/{id}/transition`.
pub async fn transition(
    AxState(state): Shared,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Permission::Transition)?;
    let body: TransitionBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("body: {e}")))?;
    let to: State = body
        .to
        .parse()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("to: {e}")))?;
    if body.note.chars().count() > MAX_NOTE {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("note: at most {MAX_NOTE} characters"),
        ));
    }
    let reason = match body.reason.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => Some(
            r.parse::<Reason>()
                .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("reason: {e}")))?,
        ),
        None => None,
    };
    let decided = blocking({
        let state = Arc::clone(&state);
        move || {
            let decision = Decision {
                finding_id: &id,
                to,
                version: body.version,
                reason,
                note: &body.note,
                actor: &caller.name,
            };
            state
                .pipeline
                .get()
                .decide(&state.registry, &state.store, &decision)
        }
    })
    .await?;
    state.store.flush_async().await?;
    let mut answer = serde_json::to_value(&decided.finding).expect("a finding serializes");
    answer["decision"] = decided.decision.into();
    answer["bank_entries"] = decided.bank_entries.into();
    Ok(Json(answer).into_response())
}

/// `GET /api/v1/marks/{id}/bank`: the mark's feedback bank, `{"mark_id",
/// "negative": [ENTRY...], "positive": [ENTRY...]}`.
pub async fn bank(
    AxState(state): Shared,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    if state
        .registry
        .get(&id)
        .map_err(ReviewError::Registry)?
        .is_none()
    {
        return Err(ReviewError::NotFound(format!("mark {id}")).into());
    }
    let bank = state.registry.bank(&id).map_err(ReviewError::Registry)?;
    Ok(Json(json!({
        "mark_id": id,
        "negative": bank.negative,
        "positive": bank.positive,
    }))
    .into_response())
}

/// `POST /api/v1/marks/{id}/bank/{entry}/undo`: the entry stops acting; findings
/// it suppressed are reopened. Answers `{"mark_id", "entry", "reopened": [ID...]}`.
pub async fn undo_bank_entry(
    AxState(state): Shared,
    caller: Caller,
    Path((id, entry)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Transition)?;
    let number: u64 = entry.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("entry: {entry:?} is not an entry number"),
        )
    })?;
    let undo = blocking({
        let state = Arc::clone(&state);
        let id = id.clone();
        move || {
            state.pipeline.get().undo_bank_entry(
                &state.registry,
                &state.store,
                &id,
                number,
                &caller.name,
            )
        }
    })
    .await?;
    state.store.flush_async().await?;
    Ok(Json(json!({ "mark_id": id, "entry": number, "reopened": undo.reopened })).into_response())
}

/// Query of the notice endpoint.
#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    format: Option<String>,
}

/// `GET /api/v1/findings/{id}/notice[?format=text]`.
pub async fn notice(
    AxState(state): Shared,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let finding = state.store.existing_finding(&id)?;
    let listing = state
        .store
        .listing(&finding.listing_id)?
        .ok_or_else(|| ReviewError::NotFound(format!("listing {}", finding.listing_id)))?;
    let pipeline = state.pipeline.get();
    let notice = notice_for(&finding, &listing, pipeline.mark(&finding.mark_id))?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(notice).into_response()),
        Some("text") => Ok((
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            notice.to_text(),
        )
            .into_response()),
        Some(other) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("format: {other:?} is not json or text"),
        )),
    }
}

/// `GET /api/v1/findings/{id}/audit`.
pub async fn audit(
    AxState(state): Shared,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    if state.store.finding(&id)?.is_none() {
        return Err(ReviewError::NotFound(format!("finding {id}")).into());
    }
    Ok(Json(json!({ "items": state.store.audit(&id)? })).into_response())
}

/// Query of the audit log.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

/// `GET /api/v1/audit?limit=&cursor=`: every change to every finding, newest first,
/// as `{"items": [AUDIT_ENTRY...], "next": CURSOR|null}`.
pub async fn audit_log(
    AxState(state): Shared,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let (items, next) = state.store.audit_log(limit, q.cursor.as_deref())?;
    Ok(Json(json!({ "items": items, "next": next })).into_response())
}

/// The `state=` of the notice exports: a confirmed state, `confirmed` when absent.
fn notice_state(state: Option<&str>) -> Result<State, ApiError> {
    match state {
        Some(s) => s
            .parse::<State>()
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("state: {e}"))),
        None => Ok(State::Confirmed),
    }
}

/// The notice of every finding in state `wanted` whose listing is stored, with the
/// finding's id.
fn notices_in(
    state: &AppState,
    wanted: State,
) -> Result<Vec<(String, crate::report::Notice)>, ReviewError> {
    let pipeline = state.pipeline.get();
    let mut notices = Vec::new();
    for f in state.store.all_findings()? {
        if f.state != wanted {
            continue;
        }
        let Some(listing) = state.store.listing(&f.listing_id)? else {
            continue;
        };
        let notice = notice_for(&f, &listing, pipeline.mark(&f.mark_id))?;
        notices.push((f.id, notice));
    }
    Ok(notices)
}

/// `GET /api/v1/notices.csv`: notices of every finding confirmed and not yet sent,
/// grouped by marketplace (`?state=` picks another confirmed state).
pub async fn notices_csv(
    AxState(state): Shared,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let wanted = notice_state(q.state.as_deref())?;
    let csv = blocking(move || render_csv(notices_in(&state, wanted)?)).await?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response())
}

/// `GET /api/v1/statements[?format=csv]`: every statement of reasons, as the
/// body of a Transparency Database batch submission (`{"statements": [...]}`) or
/// as CSV.
pub async fn statements(
    AxState(state): Shared,
    caller: Caller,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let all = state.store.statements()?;
    match q.format.as_deref() {
        None | Some("json") => {
            let items: Vec<serde_json::Value> = all.iter().map(|s| s.submission()).collect();
            Ok(Json(json!({ "statements": items })).into_response())
        }
        Some("csv") => Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            statements_csv(&all)?,
        )
            .into_response()),
        Some(other) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("format: {other:?} is not json or csv"),
        )),
    }
}

/// `GET /api/v1/sellers`: sellers with counts, repeat infringers first.
pub async fn sellers(AxState(state): Shared, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let items = blocking(move || state.store.sellers()).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

/// `GET /api/v1/sellers/{id}`: one seller's findings.
pub async fn seller(
    AxState(state): Shared,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let findings = state.store.seller_findings(&id)?;
    let mut summary = crate::review::SellerSummary {
        seller_id: id,
        ..Default::default()
    };
    findings.iter().for_each(|f| summary.add(f));
    Ok(Json(json!({ "seller": summary, "findings": findings })).into_response())
}

/// Unknown API paths answer JSON, like every other API error.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such API endpoint")
}

/// Body of a claim.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimBody {
    /// How long, in minutes (default 15, at most 120).
    minutes: Option<u32>,
}

/// `POST /api/v1/findings/{id}/claim`: the caller claims the finding (or renews
/// its claim); 409 while another reviewer's claim holds.
pub async fn claim(
    AxState(state): Shared,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Permission::Transition)?;
    let body: ClaimBody = if body.iter().all(u8::is_ascii_whitespace) {
        ClaimBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("body: {e}")))?
    };
    let minutes = body.minutes.unwrap_or(crate::store::DEFAULT_CLAIM_MINUTES);
    let f = blocking({
        let state = Arc::clone(&state);
        move || state.store.claim(&id, &caller.name, minutes)
    })
    .await?;
    state.store.flush_async().await?;
    Ok(Json(f).into_response())
}

/// `DELETE /api/v1/findings/{id}/claim`: the caller lets its claim go.
pub async fn release(
    AxState(state): Shared,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Transition)?;
    let f = blocking({
        let state = Arc::clone(&state);
        move || state.store.release(&id, &caller.name)
    })
    .await?;
    state.store.flush_async().await?;
    Ok(Json(f).into_response())
}

/// `GET /api/v1/queue`: findings per state, open and claimed counts, and the
/// oldest open finding with its age.
pub async fn queue_stats(AxState(state): Shared, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let stats = blocking(move || state.store.queue_stats()).await?;
    Ok(Json(stats).into_response())
}

/// Query of `GET /api/v1/notices/export`.
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    platform: String,
    part: Option<usize>,
    state: Option<String>,
    ebay_codes: Option<String>,
    countries: Option<String>,
    /// `all`: every confirmed finding, whatever its marketplace.
    marketplace: Option<String>,
}

/// `GET /api/v1/notices/export?platform=ebay-vero|amazon|alibaba-ipp[&part=N]`:
/// one file of the platform's report for the findings in `state` (default
/// `confirmed`) on the platform's listings; `X-Markhound-Parts` tells how many
/// files there are (Alibaba takes 300 links per file, eBay 150 items per report).
pub async fn export_notices(
    AxState(state): Shared,
    caller: Caller,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let platform: Platform = q
        .platform
        .parse()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("platform: {e}")))?;
    let wanted = notice_state(q.state.as_deref())?;
    let options = ExportOptions::parse(q.ebay_codes.as_deref(), q.countries.as_deref())?;
    let every_marketplace = match q.marketplace.as_deref() {
        None | Some("") => false,
        Some("all") => true,
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("marketplace: {other:?}; only \"all\" is accepted"),
            ))
        }
    };
    let part = q.part.unwrap_or(1);
    let files = blocking(move || {
        let mut rows = notices_in(&state, wanted)?;
        rows.retain(|(_, n)| {
            every_marketplace || platform.hosts(n.marketplace.as_deref(), n.listing_url.as_deref())
        });
        rows.sort_by(|(ia, a), (ib, b)| a.listing_id.cmp(&b.listing_id).then(ia.cmp(ib)));
        platform_export(platform, &rows, &options)
    })
    .await?;
    let parts = files.len();
    if parts == 0 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no {wanted} finding on a {platform} listing"),
        ));
    }
    let file = files.into_iter().nth(part.wrapping_sub(1)).ok_or_else(|| {
        ApiError::new(StatusCode::BAD_REQUEST, format!("part: from 1 to {parts}"))
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, file.content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file.name),
            ),
            (
                header::HeaderName::from_static("x-markhound-parts"),
                parts.to_string(),
            ),
        ],
        file.body,
    )
        .into_response())
}

/// `GET /api/v1/floods`: the flood groups, held ones first.
pub async fn floods(AxState(state): Shared, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let items = state.store.flood_groups()?;
    Ok(Json(json!({ "items": items })).into_response())
}

/// `POST /api/v1/floods/{id}/{release|reject}`: every finding held with the group
/// goes to the queue (`new`) or is dismissed; answers `{"group", "moved": [ID...]}`.
pub async fn decide_flood(
    AxState(state): Shared,
    caller: Caller,
    Path((id, verb)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Transition)?;
    let release = match verb.as_str() {
        "release" => true,
        "reject" => false,
        _ => return Err(ApiError::new(StatusCode::NOT_FOUND, "no such API endpoint")),
    };
    let (group, moved) = blocking({
        let state = Arc::clone(&state);
        move || state.store.decide_flood_group(&id, release, &caller.name)
    })
    .await?;
    state.store.flush_async().await?;
    Ok(Json(json!({ "group": group, "moved": moved })).into_response())
}
