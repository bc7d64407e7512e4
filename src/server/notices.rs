//! Notices in (DSA Article 16): `POST /api/v1/notices`, open to anyone as the
//! regulation asks (a trusted flagger's token makes it a flagger's notice), read
//! back by reviewers and by the notifier with the receipt it was given.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use super::auth::{Caller, MaybeCaller};
use super::{ApiError, AppState};
use crate::review::{
    decision_for_notifier, receipt_sha256, NoticeRecord, NoticeSubmission, Permission, ReviewError,
    Role, Source,
};
use crate::store::NewNotice;

type Shared = AxState<Arc<AppState>>;

/// The largest notice body accepted (a hundred long URLs and the explanation fit
/// many times over).
pub const MAX_NOTICE_BODY: usize = 64 << 10;

/// Notices filed without a token, per minute, service-wide: the open door the
/// regulation asks for, bounded so that a flood cannot fill the queue. Tokens
/// (flaggers, reviewers) are not counted.
pub const PUBLIC_NOTICES_PER_MINUTE: u32 = 60;

/// A fixed one-minute window over public notices. Hand-written: one counter
/// behind a mutex; a rate-limiting crate's keyed buckets would add nothing here.
#[derive(Debug)]
pub struct PublicWindow(Mutex<(Instant, u32)>);

impl Default for PublicWindow {
    fn default() -> Self {
        PublicWindow(Mutex::new((Instant::now(), 0)))
    }
}

impl PublicWindow {
    /// Counts one public notice; `Err(seconds to wait)` when the window is full.
    fn admit(&self) -> Result<(), u64> {
        let mut w = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = w.0.elapsed();
        if elapsed >= Duration::from_secs(60) {
            *w = (Instant::now(), 0);
        }
        if w.1 >= PUBLIC_NOTICES_PER_MINUTE {
            return Err(60u64.saturating_sub(w.0.elapsed().as_secs()).max(1));
        }
        w.1 += 1;
        Ok(())
    }
}

/// Files a notice for whoever sends it; what the API and the web form share.
pub async fn file(
    state: &Arc<AppState>,
    caller: Option<&Caller>,
    mut submission: NoticeSubmission,
) -> Result<(NoticeRecord, String), ApiError> {
    submission.validate()?;
    let mark = state
        .pipeline
        .get()
        .mark(&submission.mark_id)
        .map(|m| m.name.clone())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "mark_id: {:?} is not a registered mark",
                    submission.mark_id.chars().take(80).collect::<String>()
                ),
            )
        })?;
    let source = match caller {
        Some(c) if c.role == Role::Flagger => Source::TrustedFlagger,
        _ => Source::Article16,
    };
    if caller.is_none() {
        state.public_notices.admit().map_err(|wait| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many notices from the public form this minute (at most {PUBLIC_NOTICES_PER_MINUTE}); try again in {wait} s"
                ),
            )
        })?;
    }
    let filed_by = caller.map_or_else(|| "public".to_owned(), |c| c.name.clone());
    let new = NewNotice {
        submission,
        mark,
        source,
        filed_by,
    };
    let store = Arc::clone(&state.store);
    let filed = super::api::blocking(move || store.file_notice(new)).await?;
    state.store.flush_async().await?;
    Ok(filed)
}

/// `POST /api/v1/notices`: answers 201 with the notice's id, the receipt (shown
/// once) and the finding each URL became.
pub async fn submit(
    AxState(state): Shared,
    caller: MaybeCaller,
    body: Bytes,
) -> Result<Response, ApiError> {
    if let Some(c) = &caller.0 {
        // Ingest tokens feed listings; a notice comes from a person or a flagger.
        if !(c.role.may(Permission::Flag) || c.role.may(Permission::Transition)) {
            c.require(Permission::Flag)?;
        }
    }
    if body.len() > MAX_NOTICE_BODY {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a notice is at most {} KiB", MAX_NOTICE_BODY >> 10),
        ));
    }
    let submission: NoticeSubmission = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("body: {e}")))?;
    let (record, receipt) = file(&state, caller.0.as_ref(), submission).await?;
    let status_url = format!("/api/v1/notices/{}?receipt={receipt}", record.id);
    let mut answer = public_view(&record);
    answer["receipt"] = receipt.into();
    answer["status_url"] = status_url.into();
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// The notice as the API shows it: everything but the receipt's hash.
fn public_view(record: &NoticeRecord) -> Value {
    let mut v = serde_json::to_value(record).expect("a notice serializes");
    if let Some(o) = v.as_object_mut() {
        o.remove("receipt_sha256");
    }
    v
}

/// Query of `GET /api/v1/notices/{id}`.
#[derive(Debug, Deserialize)]
pub struct ReceiptQuery {
    receipt: Option<String>,
}

/// `GET /api/v1/notices/{id}[?receipt=R]`: the notice with, per URL, where its
/// finding stands, the decision in words and the redress open against it. For
/// reviewers, or for the notifier with the receipt (no token).
pub async fn status(
    AxState(state): Shared,
    caller: MaybeCaller,
    Path(id): Path<String>,
    Query(q): Query<ReceiptQuery>,
) -> Result<Response, ApiError> {
    let record = state.store.notice(&id)?;
    let allowed = match (&caller.0, &q.receipt, &record) {
        (Some(c), _, _) => {
            c.require(Permission::Read)?;
            true
        }
        (None, Some(r), Some(n)) => bool::from(
            receipt_sha256(r)
                .as_bytes()
                .ct_eq(n.receipt_sha256.as_bytes()),
        ),
        _ => false,
    };
    if !allowed {
        // The same answer for a wrong receipt and an unknown id: ids are not
        // confirmed to whoever guesses them.
        return Err(if q.receipt.is_some() {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no notice {id} with that receipt"),
            )
        } else {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing Authorization: Bearer TOKEN (or ?receipt= from the acknowledgement)",
            )
        });
    }
    let record = record.ok_or_else(|| ReviewError::NotFound(format!("notice {id}")))?;
    Ok(Json(with_decisions(&state, &record)?).into_response())
}

/// The notice with each URL's decision.
fn with_decisions(state: &AppState, record: &NoticeRecord) -> Result<Value, ApiError> {
    let mut v = public_view(record);
    let mut items = Vec::with_capacity(record.items.len());
    for item in &record.items {
        let mut i = serde_json::to_value(item).expect("an item serializes");
        if let Some(f) = state.store.finding(&item.finding_id)? {
            let (decision, redress) = decision_for_notifier(f.state);
            i["state"] = f.state.as_str().into();
            i["decision"] = decision.into();
            i["redress"] = redress.into();
            if !f.state.is_open() {
                i["decided_at"] = f.updated_at.into();
            }
        }
        items.push(i);
    }
    v["items"] = items.into();
    Ok(v)
}

/// `GET /api/v1/notices`: every notice, newest first, with each URL's decision.
pub async fn list(AxState(state): Shared, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let all = state.store.all_notices()?;
    let items = all
        .iter()
        .map(|n| with_decisions(&state, n))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({ "items": items })).into_response())
}
