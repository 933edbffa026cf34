//! Errors as the OpenAI API shapes them (`{"error": {"message", "type", "code"}}`),
//! each with its HTTP status, so every route fails the same way and clients written
//! for OpenAI read saar's errors without special cases.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A request that cannot be answered, and why.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// OpenAI's `type`: `invalid_request_error`, `authentication_error`, …
    pub kind: &'static str,
    /// A short machine-readable code.
    pub code: &'static str,
    /// Seconds a client should wait before retrying (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, code: &'static str, message: String) -> Self {
        Self {
            status,
            message,
            kind,
            code,
            retry_after: None,
        }
    }

    /// 400: malformed JSON or a parameter out of range.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_request",
            message.into(),
        )
    }

    /// 401: no key, or the wrong one.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid_api_key",
            "missing or wrong API key: send the header `Authorization: Bearer <key>`".into(),
        )
    }

    /// 404: a route or a model the server does not have.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "not_found",
            message.into(),
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            "method_not_allowed",
            "this route does not take that method; see the README for each route's method".into(),
        )
    }

    /// 413: a body over `--max-body`.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "body_too_large",
            format!("the request body is over the server's limit of {limit} bytes (--max-body)"),
        )
    }

    /// 422: well-formed, but input saar refuses (empty or binary text).
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            "unprocessable_input",
            message.into(),
        )
    }

    /// 429: the model's queue is full.
    pub fn queue_full(model: &str, queue: usize) -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "queue_full",
                format!("model {model} has {queue} requests waiting already (--max-queue); retry shortly"),
            )
        }
    }

    /// 503: the server is loading its models or shutting down.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "unavailable",
                message.into(),
            )
        }
    }

    /// 504: the request ran past `--request-timeout`.
    pub fn timed_out(secs: f64) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "server_error",
            "timeout",
            format!("the request ran past the server's limit of {secs} s (--request-timeout)"),
        )
    }

    /// 500: a fault of saar's, not of the request.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "internal_error",
            message.into(),
        )
    }

    /// The `{"error": …}` object.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"message": self.message, "type": self.kind, "code": self.code}})
    }

    /// Maps a library error from a model call to its status: what the request asked
    /// for wrongly is a 400 or 422, anything else is saar's fault.
    pub fn from_task(err: &saar::Error) -> Self {
        use saar::engine::EngineError;
        use saar::Error;
        let message = saar::error::one_line(err);
        use saar::task::TaskError;
        match err {
            Error::Task(TaskError::Unsupported { .. } | TaskError::ContextTooSmall { .. })
            | Error::Prompt(_)
            | Error::Engine(
                EngineError::ContextOverflow { .. }
                | EngineError::EmptyPrompt
                | EngineError::KvBudget { .. },
            ) => Self::bad_request(message),
            Error::Input(_) | Error::Chunk(_) => Self::unprocessable(message),
            _ => Self::internal(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        // These answers can come before the request's body was read (a missing key,
        // a body over the limit, an unknown route). The connection then cannot carry
        // another request, and hyper closes it: saying so keeps a client from sending
        // its next request into a connection that is going away.
        if matches!(
            self.status,
            StatusCode::UNAUTHORIZED | StatusCode::PAYLOAD_TOO_LARGE | StatusCode::NOT_FOUND
        ) {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
