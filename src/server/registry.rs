//! `POST /api/v1/registry`: the admin imports marks while the service runs (the
//! service holds the database, so `markhound registry import` cannot open it then),
//! and the service rebuilds its matcher so the next listing is matched against them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::registry::{parse_sent, Format};
use crate::review::Permission;

type Shared = AxState<Arc<AppState>>;

/// The import format a request's `Content-Type` names.
fn format_of(headers: &HeaderMap) -> Result<Format, ApiError> {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match kind.as_str() {
        "application/json" => Ok(Format::Json),
        "application/x-ndjson" | "application/jsonl" => Ok(Format::JsonLines),
        "application/toml" => Ok(Format::Toml),
        "text/csv" => Ok(Format::Csv),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type: application/json (an array of marks), application/x-ndjson, \
             application/toml or text/csv",
        )),
    }
}

/// `POST /api/v1/registry`: upserts the marks of the body (one registry file, all
/// or nothing, no image files), then matches the next listing against the new
/// registry. Answers the import's counts and the registry version.
pub async fn import(
    AxState(state): Shared,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Permission::Manage)?;
    let format = format_of(&headers)?;
    let text = String::from_utf8(body.to_vec())
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("body: not UTF-8 ({e})")))?;
    let worker = Arc::clone(&state);
    let summary = tokio::task::spawn_blocking(move || {
        let marks = parse_sent(&text, format).map_err(|problems| {
            let listed: Vec<String> = problems
                .iter()
                .map(|p| match &p.field {
                    Some(field) => format!("line {}: {field}: {}", p.line, p.reason),
                    None => format!("line {}: {}", p.line, p.reason),
                })
                .collect();
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("nothing was imported: {}", listed.join("; ")),
            )
        })?;
        let summary = worker
            .registry
            .import_marks(&marks)
            .map_err(|e| ApiError::from(crate::review::ReviewError::Registry(e)))?;
        if summary.added + summary.updated > 0 {
            worker.pipeline.rebuild(&worker.db).map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "the marks were stored, but the matcher could not be rebuilt: {}",
                        crate::error_chain(&e)
                    ),
                )
            })?;
        }
        Ok::<_, ApiError>(summary)
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    tracing::info!(
        by = %caller.name,
        added = summary.added,
        updated = summary.updated,
        version = summary.version,
        "registry imported over the API"
    );
    Ok(Json(json!({
        "marks": summary.marks,
        "added": summary.added,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "version": summary.version,
    }))
    .into_response())
}
