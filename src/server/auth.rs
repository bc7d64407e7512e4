//! Who is calling: the `Authorization: Bearer TOKEN` header checked against the
//! token store. A missing or unknown token is 401, a role without the permission 403.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

use super::{ApiError, AppState};
use crate::review::{Permission, Role};

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's name, recorded in the audit log.
    pub name: String,
    /// The token's role.
    pub role: Role,
}

impl Caller {
    /// Refuses with 403 unless the caller's role grants `p`.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.role.may(p) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("the {} role may not do this", self.role),
            ))
        }
    }
}

/// The caller of an endpoint open to anyone: `None` without an `Authorization`
/// header; with one, the token must be valid (401 otherwise), as everywhere.
#[derive(Debug, Clone)]
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequestParts<Arc<AppState>> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<MaybeCaller, ApiError> {
        if parts.headers.get(header::AUTHORIZATION).is_none() {
            return Ok(MaybeCaller(None));
        }
        Caller::from_request_parts(parts, state)
            .await
            .map(|c| MaybeCaller(Some(c)))
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Caller, ApiError> {
        let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, m.to_owned());
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("missing Authorization: Bearer TOKEN"))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| unauthorized("expected Authorization: Bearer TOKEN"))?;
        // One small sled read, served from its cache: cheap enough to do inline.
        let record = state
            .tokens
            .verify(token.trim())?
            .ok_or_else(|| unauthorized("unknown token"))?;
        Ok(Caller {
            name: record.name,
            role: record.role,
        })
    }
}
