//! The server-rendered web UI: sign in with an API token, then work the queue.
//!
//! A session cookie (HttpOnly, SameSite=Strict, Secure behind TLS) stands for the
//! token after sign-in; every form carries the session's CSRF token in a hidden
//! field and is refused without it. Sign-in is rate limited per address. The
//! progressive-enhancement script (keyboard shortcuts) is a static file, so the
//! Content-Security-Policy can allow `script-src 'self'` only.

mod pages;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;

use sha2::Digest;

use axum::extract::{ConnectInfo, Path, Query, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use cookie::{Cookie, SameSite};
use serde::Deserialize;

pub use session::Sessions;

use super::AppState;
use crate::pipeline::Decision;
use crate::registry::{BankEntry, Reason};
use crate::review::{FindingRecord, Permission, ReviewError, State};

type Shared = AxState<Arc<AppState>>;

/// The UI's routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/queue") }))
        .route("/signin", get(signin_page).post(signin))
        .route("/signout", post(signout))
        .route("/queue", get(queue))
        .route("/findings/{id}", get(finding))
        .route("/findings/{id}/act", post(act))
        .route("/findings/{id}/claim", post(claim))
        .route("/floods/{id}/{verb}", post(decide_flood))
        .route("/notice", get(notice_page).post(notice_submit))
        .route("/bulk", post(bulk))
        .route("/sellers", get(sellers))
        .route("/sellers/{id}", get(seller))
        .route("/marks/{id}/image", get(mark_image))
        .route("/marks/{id}/bank/{entry}/undo", post(undo_bank_entry))
        .route("/photos/{sha256}", get(kept_photo))
        .route("/static/app.js", get(app_js))
        .route("/static/app.css", get(app_css))
}

/// An HTML error page.
struct UiError(StatusCode, String);

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        (self.0, pages::error(self.0.as_u16(), &self.1)).into_response()
    }
}

impl From<ReviewError> for UiError {
    fn from(e: ReviewError) -> UiError {
        let api = super::ApiError::from(e);
        UiError(api.status, api.message)
    }
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == session::COOKIE)
        .map(|c| c.value().to_owned())
}

fn set_cookie(headers: &HeaderMap, id: &str) -> HeaderValue {
    let tls = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = Cookie::build((session::COOKIE, id.to_owned()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(tls)
        .path("/")
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("a hex cookie is a valid header")
}

/// The signed-in reviewer: name, CSRF token and session id.
struct Reviewer {
    name: String,
    csrf: String,
}

/// Why a page is refused.
enum Refusal {
    /// Nobody (or a token that may not review) is signed in: go sign in.
    SignIn,
    /// A form post without the session's CSRF token.
    Csrf,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::SignIn => Redirect::to("/signin").into_response(),
            Refusal::Csrf => UiError(
                StatusCode::FORBIDDEN,
                "missing or wrong CSRF token; reload the page".into(),
            )
            .into_response(),
        }
    }
}

/// The signed-in reviewer, or a redirect to the sign-in page.
fn reviewer(state: &AppState, headers: &HeaderMap) -> Result<Reviewer, Refusal> {
    let Some(id) = cookie_value(headers) else {
        return Err(Refusal::SignIn);
    };
    let Some(s) = state.sessions.get(&id) else {
        return Err(Refusal::SignIn);
    };
    // A revoked token ends its sessions at once.
    let token_live = s.token.as_deref().is_some_and(|t| {
        state.tokens.exists(t).unwrap_or_else(|e| {
            tracing::warn!("checking a session's token: {e}");
            false
        })
    });
    match s.user {
        Some((name, role)) if token_live && role.may(Permission::Read) => {
            Ok(Reviewer { name, csrf: s.csrf })
        }
        Some(_) if !token_live => {
            state.sessions.remove(&id);
            Err(Refusal::SignIn)
        }
        _ => Err(Refusal::SignIn),
    }
}

/// Checks the CSRF field of a form post against the session.
fn reviewer_with_csrf(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<Reviewer, Refusal> {
    let r = reviewer(state, headers)?;
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        r.csrf.as_bytes(),
        csrf.as_bytes(),
    )) {
        return Err(Refusal::Csrf);
    }
    Ok(r)
}

async fn signin_page(AxState(state): Shared, headers: HeaderMap) -> Response {
    // A reviewer already signed in keeps the session: the page does not replace it.
    let signed_in = cookie_value(&headers)
        .and_then(|id| state.sessions.get(&id))
        .is_some_and(|s| s.user.is_some());
    if signed_in {
        return Redirect::to("/queue").into_response();
    }
    let (id, s) = state.sessions.create_anonymous();
    (
        [(header::SET_COOKIE, set_cookie(&headers, &id))],
        pages::signin(&s.csrf, None),
    )
        .into_response()
}

#[derive(Deserialize)]
struct SigninForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

async fn signin(
    AxState(state): Shared,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SigninForm>,
) -> Response {
    let pre = cookie_value(&headers).and_then(|id| state.sessions.get(&id).map(|s| (id, s)));
    let Some((pre_id, pre)) = pre.filter(|(_, s)| s.csrf_ok(&form.csrf)) else {
        return UiError(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token; reload the page".into(),
        )
        .into_response();
    };
    if !state.sessions.may_try(peer.ip()) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            pages::signin(&pre.csrf, Some("Too many failed attempts; wait a minute.")),
        )
            .into_response();
    }
    let record = match state.tokens.verify(form.token.trim()) {
        Ok(r) => r,
        Err(e) => return UiError::from(e).into_response(),
    };
    match record {
        Some(r) if r.role.may(Permission::Read) => {
            // A fresh id on sign-in, so a planted cookie cannot be promoted.
            state.sessions.remove(&pre_id);
            let token = crate::review::token_id(&form.token).unwrap_or_default();
            let (id, _) = state.sessions.create_signed_in((r.name, r.role), token);
            (
                [(header::SET_COOKIE, set_cookie(&headers, &id))],
                Redirect::to("/queue"),
            )
                .into_response()
        }
        Some(_) => (
            StatusCode::FORBIDDEN,
            pages::signin(&pre.csrf, Some("This token may not review.")),
        )
            .into_response(),
        None => {
            state.sessions.failed(peer.ip());
            (
                StatusCode::UNAUTHORIZED,
                pages::signin(&pre.csrf, Some("Unknown token.")),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn signout(
    AxState(state): Shared,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refusal) = reviewer_with_csrf(&state, &headers, &form.csrf) {
        return refusal.into_response();
    }
    if let Some(id) = cookie_value(&headers) {
        state.sessions.remove(&id);
    }
    Redirect::to("/signin").into_response()
}

#[derive(Deserialize, Default)]
struct QueueQuery {
    state: Option<String>,
    #[serde(default)]
    mark: String,
    #[serde(default)]
    seller: String,
    /// Absent: the suspect threshold, so the queue opens on suspects only; empty:
    /// every finding.
    min_score: Option<String>,
    cursor: Option<String>,
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

async fn queue(
    AxState(state): Shared,
    headers: HeaderMap,
    Query(q): Query<QueueQuery>,
) -> Response {
    let r = match reviewer(&state, &headers) {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    let state_param = q.state.clone().unwrap_or_else(|| "open".into());
    let min_text = q
        .min_score
        .clone()
        .unwrap_or_else(|| crate::scoring::SUSPECT_THRESHOLD.to_string());
    let min_score = match min_text.trim() {
        "" => None,
        s => match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                return UiError(StatusCode::BAD_REQUEST, "min score: not a number".into())
                    .into_response()
            }
        },
    };
    let only_open = state_param == "open";
    let filter = match super::api::filter_of(
        (!only_open).then_some(state_param.as_str()),
        Some(q.mark.clone()),
        Some(q.seller.clone()),
        min_score,
    ) {
        Ok(f) => f,
        Err(e) => return UiError(e.status, e.message).into_response(),
    };
    // The open queue is three states; page through the score index until a page
    // of open findings is full.
    let limit = 50;
    let mut rows = Vec::new();
    let mut cursor = q.cursor.clone();
    let next = loop {
        let page = match state.store.list(&filter, limit, cursor.as_deref()) {
            Ok(p) => p,
            Err(e) => return UiError::from(e).into_response(),
        };
        for f in page.items {
            if !only_open || f.state.is_open() {
                rows.push(f);
            }
        }
        if rows.len() >= limit || page.next.is_none() {
            break page.next;
        }
        cursor = page.next;
    };
    let rows = rows
        .into_iter()
        .map(|f| {
            let l = state.store.listing(&f.listing_id).ok().flatten();
            (f, l)
        })
        .collect();
    let base = [
        ("state", state_param.as_str()),
        ("mark", q.mark.as_str()),
        ("seller", q.seller.as_str()),
        ("min_score", min_text.as_str()),
    ];
    let mut with_cursor = base.to_vec();
    if let Some(c) = &q.cursor {
        with_cursor.push(("cursor", c));
    }
    let back = format!("/queue?{}", query_string(&with_cursor));
    let next_url = next.as_ref().map(|c| {
        let mut p = base.to_vec();
        p.push(("cursor", c));
        format!("/queue?{}", query_string(&p))
    });
    let view = pages::QueueView {
        rows,
        state: &state_param,
        mark: &q.mark,
        seller: &q.seller,
        min_score: &min_text,
        back: &back,
        next_url,
        stats: state
            .store
            .queue_stats()
            .map_err(|e| tracing::warn!("queue figures: {e}"))
            .ok(),
        now: crate::review::now(),
        held: state
            .store
            .flood_groups()
            .map_err(|e| tracing::warn!("flood groups: {e}"))
            .unwrap_or_default()
            .into_iter()
            .filter(|g| g.state == crate::review::GroupState::Held)
            .collect(),
    };
    pages::queue(&r.name, &r.csrf, &view).into_response()
}

async fn finding(AxState(state): Shared, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let r = match reviewer(&state, &headers) {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    let page = (|| -> Result<_, ReviewError> {
        let f = state.store.existing_finding(&id)?;
        let listing = state.store.listing(&f.listing_id)?;
        let history = state.store.audit(&id)?;
        let seller = match &f.seller_id {
            Some(s) => state.store.seller_findings(s)?,
            None => Vec::new(),
        };
        let refs = state
            .pipeline
            .get()
            .mark(&f.mark_id)
            .map_or(0, |m| m.images.len());
        // The bank entries this finding's decisions made.
        let prefix = format!("{}@", f.id);
        let bank: Vec<(bool, BankEntry)> = state
            .pipeline
            .get()
            .bank(&f.mark_id)
            .map(|b| {
                let negative = b.negative.into_iter().map(|e| (false, e));
                let positive = b.positive.into_iter().map(|e| (true, e));
                negative
                    .chain(positive)
                    .filter(|(_, e)| e.decision.starts_with(&prefix))
                    .collect()
            })
            .unwrap_or_default();
        Ok(pages::finding(
            &r.name,
            &r.csrf,
            &f,
            listing.as_ref(),
            refs,
            &pages::Related {
                history: &history,
                seller_findings: &seller,
                bank: &bank,
            },
        ))
    })();
    match page {
        Ok(p) => p.into_response(),
        Err(e) => UiError::from(e).into_response(),
    }
}

/// The transitions a UI action makes from `from`.
fn steps(action: &str, from: State) -> Option<Vec<State>> {
    use State::*;
    let via_review = |to: State| match from {
        New | Reopened => Some(vec![InReview, to]),
        InReview => Some(vec![to]),
        _ => None,
    };
    match action {
        "confirm" => via_review(Confirmed),
        "dismiss" => via_review(Dismissed),
        "escalate" => matches!(from, New | Reopened).then(|| vec![InReview]),
        "notice_sent" => Some(vec![NoticeSent]),
        "removed" => Some(vec![Removed]),
        "reinstated" => Some(vec![Reinstated]),
        "reopen" => Some(vec![Reopened]),
        _ => None,
    }
}

/// Runs `work` (a decision, a claim: sled writes) off the async runtime, then
/// redirects to `to`, or answers the error page.
async fn blocking_then_redirect<T: Send + 'static>(
    to: impl AsRef<str>,
    work: impl FnOnce() -> Result<T, ReviewError> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(_)) => Redirect::to(to.as_ref()).into_response(),
        Ok(Err(e)) => UiError::from(e).into_response(),
        Err(_) => {
            UiError(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into()).into_response()
        }
    }
}

/// Applies a UI action to finding `id` seen at `version`; a dismissal's reason
/// goes with its last step, which the pipeline records in the mark's bank.
fn apply_action(
    state: &AppState,
    id: &str,
    version: u64,
    action: &str,
    reason: Option<Reason>,
    actor: &str,
) -> Result<FindingRecord, ReviewError> {
    let f = state.store.existing_finding(id)?;
    let steps = steps(action, f.state).ok_or_else(|| {
        ReviewError::BadInput(format!("cannot {action} a finding that is {}", f.state))
    })?;
    if reason.is_some() && action != "dismiss" {
        return Err(ReviewError::BadInput(format!(
            "reason: only a dismissal takes a reason, not {action}"
        )));
    }
    let note = format!("web UI: {action}");
    let mut version = version;
    let mut last = f;
    for to in steps {
        let decision = Decision {
            finding_id: id,
            to,
            version,
            reason: reason.filter(|_| to == State::Dismissed),
            note: &note,
            actor,
        };
        last = state
            .pipeline
            .get()
            .decide(&state.registry, &state.store, &decision)?
            .finding;
        version = last.version;
    }
    state.store.flush()?;
    Ok(last)
}

/// Reads the optional `reason` field of a form.
fn reason_of(reason: Option<&str>) -> Result<Option<Reason>, UiError> {
    match reason.filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) => r
            .parse()
            .map(Some)
            .map_err(|e| UiError(StatusCode::BAD_REQUEST, format!("reason: {e}"))),
    }
}

/// Only same-site paths are followed back to: a path that starts with one `/`,
/// without backslashes, control characters or white space (browsers drop a TAB or
/// a newline from `/\t/host`, leaving `//host`, another site).
fn safe_back(back: &str) -> &str {
    let plain = !back.contains('\\') && !back.chars().any(|c| c.is_control() || c.is_whitespace());
    if plain && back.starts_with('/') && !back.starts_with("//") {
        back
    } else {
        "/queue"
    }
}

#[derive(Deserialize)]
struct ActForm {
    #[serde(default)]
    csrf: String,
    action: String,
    version: u64,
    #[serde(default)]
    back: String,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
struct ClaimForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    release: String,
}

/// Claims the finding for the signed-in reviewer, or lets the claim go.
async fn claim(
    AxState(state): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ClaimForm>,
) -> Response {
    let r = match reviewer_with_csrf(&state, &headers, &form.csrf) {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    let back = format!("/findings/{id}");
    blocking_then_redirect(&back, move || {
        if form.release.is_empty() {
            state
                .store
                .claim(&id, &r.name, crate::store::DEFAULT_CLAIM_MINUTES)?;
        } else {
            state.store.release(&id, &r.name)?;
        }
        state.store.flush()
    })
    .await
}

/// Releases or rejects a flood group from the queue page.
async fn decide_flood(
    AxState(state): Shared,
    headers: HeaderMap,
    Path((id, verb)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let r = match reviewer_with_csrf(&state, &headers, &form.csrf) {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    let release = match verb.as_str() {
        "release" => true,
        "reject" => false,
        _ => return UiError(StatusCode::NOT_FOUND, "no such page".into()).into_response(),
    };
    blocking_then_redirect("/queue", move || {
        state.store.decide_flood_group(&id, release, &r.name)?;
        state.store.flush()
    })
    .await
}

/// The registered marks, by name, for the notice form.
fn mark_choices(state: &AppState) -> Vec<(String, String)> {
    let pipeline = state.pipeline.get();
    let mut marks: Vec<(String, String)> = pipeline
        .scorer()
        .marks()
        .iter()
        .map(|m| (m.id.clone(), m.name.clone()))
        .collect();
    marks.sort_by_key(|m| m.1.to_lowercase());
    marks
}

/// The public notice form: no sign-in (Article 16 asks that anyone may notify);
/// an anonymous session carries its CSRF token, as on the sign-in page.
async fn notice_page(AxState(state): Shared, headers: HeaderMap) -> Response {
    let (id, s) = state.sessions.create_anonymous();
    (
        [(header::SET_COOKIE, set_cookie(&headers, &id))],
        pages::notice_form(&s.csrf, &mark_choices(&state), None, None),
    )
        .into_response()
}

async fn notice_submit(
    AxState(state): Shared,
    headers: HeaderMap,
    Form(form): Form<pages::NoticeFormValues>,
) -> Response {
    let pre = cookie_value(&headers).and_then(|id| state.sessions.get(&id));
    let Some(pre) = pre.filter(|s| s.csrf_ok(&form.csrf)) else {
        return UiError(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token; reload the page".into(),
        )
        .into_response();
    };
    let submission = crate::review::NoticeSubmission {
        name: form.name.clone(),
        email: form.email.clone(),
        explanation: form.explanation.clone(),
        urls: form.urls.lines().map(str::to_owned).collect(),
        mark_id: form.mark_id.clone(),
        good_faith: form.good_faith,
    };
    match super::notices::file(&state, None, submission).await {
        Ok((record, receipt)) => pages::notice_received(&record, &receipt).into_response(),
        Err(e) => (
            e.status,
            pages::notice_form(
                &pre.csrf,
                &mark_choices(&state),
                Some(&e.message),
                Some(&form),
            ),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct UndoForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
}

/// Undoes a feedback-bank entry from the finding page.
async fn undo_bank_entry(
    AxState(state): Shared,
    headers: HeaderMap,
    Path((mark, entry)): Path<(String, String)>,
    Form(form): Form<UndoForm>,
) -> Response {
    let r = match reviewer_with_csrf(&state, &headers, &form.csrf) {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    let Ok(entry) = entry.parse::<u64>() else {
        return UiError(
            StatusCode::BAD_REQUEST,
            format!("entry: {entry:?} is not an entry number"),
        )
        .into_response();
    };
    let back = safe_back(&form.back).to_owned();
    blocking_then_redirect(&back, move || {
        let undo = state.pipeline.get().undo_bank_entry(
            &state.registry,
            &state.store,
            &mark,
            entry,
            &r.name,
        )?;
        state.store.flush()?;
        Ok::<_, ReviewError>(undo)
    })
    .await
}

async fn act(
    AxState(state): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ActForm>,
) -> Response {
    let r = match reviewer_with_csrf(&state, &headers, &form.csrf) {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    let back = safe_back(&form.back).to_owned();
    let reason = match reason_of(form.reason.as_deref()) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    blocking_then_redirect(&back, move || {
        apply_action(&state, &id, form.version, &form.action, reason, &r.name)
    })
    .await
}

async fn bulk(
    AxState(state): Shared,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let r = match reviewer_with_csrf(&state, &headers, field("csrf").unwrap_or("")) {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    let action = field("action").unwrap_or("").to_owned();
    let back = safe_back(field("back").unwrap_or("")).to_owned();
    // The bulk form's reason goes with dismissals only.
    let reason = match reason_of(field("reason")) {
        Ok(r) => r.filter(|_| action == "dismiss"),
        Err(e) => return e.into_response(),
    };
    let mut targets = Vec::new();
    for (_, v) in fields.iter().filter(|(n, _)| n == "sel") {
        match v
            .split_once(':')
            .and_then(|(id, ver)| Some((id.to_owned(), ver.parse::<u64>().ok()?)))
        {
            Some(t) => targets.push(t),
            None => {
                return UiError(
                    StatusCode::BAD_REQUEST,
                    format!("sel: {v:?} is not ID:VERSION"),
                )
                .into_response()
            }
        }
    }
    let result = tokio::task::spawn_blocking(move || {
        // Each finding moves on its own; one that changed meanwhile is reported and
        // the others still move.
        let mut failed = Vec::new();
        for (id, version) in targets {
            if let Err(e) = apply_action(&state, &id, version, &action, reason, &r.name) {
                failed.push(format!("{id}: {e}"));
            }
        }
        failed
    })
    .await;
    match result {
        Ok(failed) if failed.is_empty() => Redirect::to(&back).into_response(),
        Ok(failed) => UiError(
            StatusCode::CONFLICT,
            format!("not applied to {}", failed.join("; ")),
        )
        .into_response(),
        Err(_) => {
            UiError(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into()).into_response()
        }
    }
}

async fn sellers(AxState(state): Shared, headers: HeaderMap) -> Response {
    let r = match reviewer(&state, &headers) {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    match state.store.sellers() {
        Ok(items) => pages::sellers(&r.name, &r.csrf, &items).into_response(),
        Err(e) => UiError::from(e).into_response(),
    }
}

async fn seller(AxState(state): Shared, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let r = match reviewer(&state, &headers) {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    match state.store.seller_findings(&id) {
        Ok(findings) => {
            let mut s = crate::review::SellerSummary {
                seller_id: id,
                ..Default::default()
            };
            findings.iter().for_each(|f| s.add(f));
            pages::seller(&r.name, &r.csrf, &s, &findings).into_response()
        }
        Err(e) => UiError::from(e).into_response(),
    }
}

/// Query of the reference image page.
#[derive(Debug, Deserialize)]
struct ImageQuery {
    /// Which reference image (0-based); the first by default.
    n: Option<usize>,
}

/// A reference image of a mark (`?n=`, the first by default), read from where the
/// registry recorded it.
async fn mark_image(
    AxState(state): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ImageQuery>,
) -> Response {
    if let Err(refusal) = reviewer(&state, &headers) {
        return refusal.into_response();
    }
    let n = q.n.unwrap_or(0);
    let pipeline = state.pipeline.get();
    let image = pipeline.mark(&id).and_then(|m| m.images.get(n));
    let Some(path) = image.map(|i| i.path.clone()) else {
        return UiError(
            StatusCode::NOT_FOUND,
            format!("mark {id} has no reference image {}", n + 1),
        )
        .into_response();
    };
    let mime = match path
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    };
    // The file is served only while it is the one imported: its SHA-256 must be
    // the one the registry stored (a file replaced by a link to another file, or
    // anything else, is not served), and it is read within the decoder's size limit.
    let expected = image.and_then(|i| i.sha256.clone());
    drop(pipeline);
    let read = tokio::task::spawn_blocking(move || {
        crate::image::read_file(std::path::Path::new(&path), &crate::image::Limits::DEFAULT)
    })
    .await;
    let unavailable = || {
        UiError(
            StatusCode::NOT_FOUND,
            "the reference image cannot be read".into(),
        )
        .into_response()
    };
    match read {
        Ok(Ok(bytes)) => {
            let sha = hex::encode(sha2::Sha256::digest(&bytes));
            if expected.as_deref() == Some(sha.as_str()) {
                ([(header::CONTENT_TYPE, mime)], bytes).into_response()
            } else {
                tracing::warn!(mark = %id, "the reference image changed since it was imported; not served");
                unavailable()
            }
        }
        Ok(Err(e)) => {
            tracing::warn!(mark = %id, "cannot read a reference image: {e}");
            unavailable()
        }
        Err(e) => {
            tracing::error!("a blocking task failed: {e}");
            unavailable()
        }
    }
}

/// A listing photo kept in the store, by the SHA-256 of the original.
async fn kept_photo(
    AxState(state): Shared,
    headers: HeaderMap,
    Path(sha256): Path<String>,
) -> Response {
    if let Err(refusal) = reviewer(&state, &headers) {
        return refusal.into_response();
    }
    match state.store.photo(&sha256) {
        Ok(Some(bytes)) => ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response(),
        Ok(None) => UiError(StatusCode::NOT_FOUND, "no such photo".into()).into_response(),
        Err(e) => UiError::from(e).into_response(),
    }
}

async fn app_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("static/app.js"),
    )
        .into_response()
}

async fn app_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("static/app.css"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_actions_map_to_workflow_moves() {
        assert_eq!(
            steps("confirm", State::New),
            Some(vec![State::InReview, State::Confirmed])
        );
        assert_eq!(
            steps("dismiss", State::InReview),
            Some(vec![State::Dismissed])
        );
        assert_eq!(steps("confirm", State::Removed), None);
        assert_eq!(steps("escalate", State::InReview), None);
        assert_eq!(steps("bogus", State::New), None);
    }

    #[test]
    fn only_same_site_paths_are_followed_back() {
        assert_eq!(safe_back("/queue?state=new"), "/queue?state=new");
        assert_eq!(safe_back("//evil.example/"), "/queue");
        assert_eq!(safe_back("https://evil.example/"), "/queue");
        assert_eq!(safe_back("/\\evil.example"), "/queue");
        for bad in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/x\r\nSet-Cookie: a=b",
            "/\0",
        ] {
            assert_eq!(safe_back(bad), "/queue", "{bad:?}");
        }
    }
}
