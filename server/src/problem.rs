//! Errors as `application/problem+json` (RFC 9457): what every REST route
//! and the gate answer when something is wrong.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use monitor::{ControlError, EngineError};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always "about:blank": the status and title say what happened.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    /// What happened and what to do, in words.
    pub detail: String,
    /// Seconds to wait before trying again (also sent as `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// The field of the request body the problem is about (`url`,
    /// `interval`, `keywords`...), when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

impl Problem {
    pub fn new(status: StatusCode, title: &str, detail: &str) -> Problem {
        Problem {
            kind: "about:blank",
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            retry_after: None,
            field: None,
        }
    }

    pub fn not_found(what: &str) -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "Not found",
            &format!("There is no {what}."),
        )
    }

    pub fn invalid(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request",
            &detail.into(),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry = self.retry_after;
        let mut resp = (
            status,
            serde_json::to_string(&self).expect("problems serialise"),
        )
            .into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = retry {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

impl From<EngineError> for Problem {
    fn from(e: EngineError) -> Problem {
        match &e {
            EngineError::UnknownSource(_) => {
                Problem::new(StatusCode::NOT_FOUND, "Not found", &e.to_string())
            }
            EngineError::AlreadyRunning(_) => {
                Problem::new(StatusCode::CONFLICT, "Already running", &e.to_string())
            }
            EngineError::PolledElsewhere(_) => Problem::new(
                StatusCode::CONFLICT,
                "Polled by another instance",
                &e.to_string(),
            ),
            EngineError::InvalidSource(_) => Problem::invalid(e.to_string()),
            EngineError::Field(f) => Problem {
                field: Some(f.field.as_str()),
                ..Problem::invalid(f.message.clone())
            },
            EngineError::Store(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The database did not answer",
                &e.to_string(),
            ),
        }
    }
}

impl From<ControlError> for Problem {
    fn from(e: ControlError) -> Problem {
        match e {
            ControlError::Auth(a) => a.into(),
            ControlError::Engine(e) => e.into(),
            ControlError::Vault(v) => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The vault could not be read",
                &v.to_string(),
            ),
        }
    }
}

impl From<monitor::alerts::AlertError> for Problem {
    fn from(e: monitor::alerts::AlertError) -> Problem {
        use monitor::alerts::AlertError;
        match e {
            AlertError::Auth(a) => a.into(),
            AlertError::Invalid { .. } => Problem::invalid(e.to_string()),
            AlertError::NotFound(_) => {
                Problem::new(StatusCode::NOT_FOUND, "Not found", &e.to_string())
            }
            AlertError::TestFailed(_) => Problem::new(
                StatusCode::BAD_GATEWAY,
                "The channel did not take the message",
                &e.to_string(),
            ),
            AlertError::Store(_) | AlertError::Vault(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The database did not answer",
                &e.to_string(),
            ),
        }
    }
}
