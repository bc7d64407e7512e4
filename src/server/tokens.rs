//! `/api/v1/tokens`: the admin lists, creates and revokes tokens while the service
//! runs (the service holds the database, so `markhound token` cannot open it then).
//! A revoked token is refused at its next API call, and the web sessions signed in
//! with it end at their next request.

use std::sync::Arc;

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::review::{token_id, Permission, Role};

type Shared = AxState<Arc<AppState>>;

/// `GET /api/v1/tokens`: every token's id, name, role and creation time (never a
/// secret).
pub async fn list(AxState(state): Shared, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Permission::Manage)?;
    let items = state.tokens.list()?;
    Ok(Json(json!({ "items": items })).into_response())
}

/// The body of `POST /api/v1/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
    role: Role,
}

/// `POST /api/v1/tokens`: creates a token; the answer carries it, once.
pub async fn create(
    AxState(state): Shared,
    caller: Caller,
    body: Result<Json<NewToken>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Manage)?;
    let Json(new) = body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let token = state.tokens.create(&new.name, new.role)?;
    let id = token_id(&token).unwrap_or_default().to_owned();
    tracing::info!(by = %caller.name, %id, name = %new.name.trim(), role = %new.role, "token created");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "name": new.name.trim(), "role": new.role, "token": token })),
    )
        .into_response())
}

/// `DELETE /api/v1/tokens/{id}`: revokes a token at once.
pub async fn revoke(
    AxState(state): Shared,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Manage)?;
    if !state.tokens.revoke(&id)? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no token with id {id:?}"),
        ));
    }
    tracing::info!(by = %caller.name, %id, "token revoked");
    Ok(Json(json!({ "revoked": id })).into_response())
}
