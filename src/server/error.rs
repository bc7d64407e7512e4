//! The one place where errors become HTTP answers: every error is a JSON object
//! `{"error": "..."}` with the status its cause deserves.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::engine::EngineError;
use crate::review::ReviewError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// What went wrong, for the client.
    pub message: String,
    /// The index of the bad item of a batch.
    pub index: Option<usize>,
}

impl ApiError {
    /// An answer with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            index: None,
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        match e {
            EngineError::Store(e) => ApiError::from(e),
            EngineError::JetStream(e) => {
                tracing::error!("{:#}", anyhow::Error::new(e));
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the listing queue is unavailable; send the batch again (listings already queued are not queued twice)",
                )
            }
            e => {
                tracing::error!("{:#}", anyhow::Error::new(e));
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server log",
                )
            }
        }
    }
}

impl From<ReviewError> for ApiError {
    fn from(e: ReviewError) -> ApiError {
        let status = match &e {
            ReviewError::NotFound(_) => StatusCode::NOT_FOUND,
            ReviewError::Stale { .. } | ReviewError::Claimed { .. } => StatusCode::CONFLICT,
            ReviewError::NotAllowed { .. } | ReviewError::NotConfirmed { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ReviewError::BadItem { .. } | ReviewError::BadInput(_) | ReviewError::BadCursor => {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let index = match &e {
            ReviewError::BadItem { index, .. } => Some(*index),
            _ => None,
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            // The cause chain goes to the log, not to the client.
            tracing::error!("{:#}", anyhow::Error::new(e));
            "internal error; see the server log".to_owned()
        } else {
            e.to_string()
        };
        ApiError {
            status,
            message,
            index,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.message });
        if let Some(i) = self.index {
            body["index"] = i.into();
        }
        (self.status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::State;

    #[test]
    fn review_errors_map_to_their_statuses() {
        let status = |e: ReviewError| ApiError::from(e).status;
        let stale = ReviewError::Stale {
            id: "f".into(),
            current: 2,
            given: 1,
        };
        assert_eq!(status(stale), StatusCode::CONFLICT);
        let not_allowed = ReviewError::NotAllowed {
            id: "f".into(),
            from: State::New,
            to: State::Removed,
        };
        assert_eq!(status(not_allowed), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            status(ReviewError::NotFound("x".into())),
            StatusCode::NOT_FOUND
        );
        let bad = ApiError::from(ReviewError::BadItem {
            index: 4,
            reason: "title: missing".into(),
        });
        assert_eq!((bad.status, bad.index), (StatusCode::BAD_REQUEST, Some(4)));
        // Internal causes stay in the log.
        let db = ApiError::from(ReviewError::Db(sled::Error::Unsupported("x".into())));
        assert_eq!(db.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!db.message.contains('x'), "{}", db.message);
    }
}
