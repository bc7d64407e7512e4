//! The one place where errors become HTTP answers: every error is a JSON object
//! `{"error": "..."}` with the status its cause deserves.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

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

impl From<ReviewError> for ApiError {
    fn from(e: ReviewError) -> ApiError {
        let status = match &e {
            ReviewError::NotFound(_) => StatusCode::NOT_FOUND,
            ReviewError::Stale { .. } => StatusCode::CONFLICT,
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
