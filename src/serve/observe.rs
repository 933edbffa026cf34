//! What wraps every request: the API key check, and one structured log line with the
//! request's metrics. The line is written when the request's [`RequestLog`] is
//! dropped, which for a streamed reply is when the stream ends, so its latency and
//! token counts are those of the whole reply. The key itself is never logged.

use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::App;

/// The routes metrics are labelled with; any other path counts as `other`, so a
/// scanner cannot grow the label set.
const ROUTES: [&str; 8] = [
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/models",
    "/v1/summarize",
    "/v1/translate",
    "/health",
    "/metrics",
    "/",
];

/// One request's facts, logged once when the last holder drops it.
pub(crate) struct RequestLog {
    id: u64,
    method: String,
    route: &'static str,
    started: Instant,
    status: AtomicU16,
    prompt_tokens: AtomicUsize,
    completion_tokens: AtomicUsize,
    model: Mutex<Option<String>>,
    first_token: OnceLock<f64>,
    app: Arc<App>,
}

impl RequestLog {
    /// Records which model served the request and its token counts.
    pub fn usage(&self, model: &str, prompt: usize, completion: usize) {
        self.prompt_tokens.store(prompt, Ordering::Relaxed);
        self.completion_tokens.store(completion, Ordering::Relaxed);
        if let Ok(mut slot) = self.model.lock() {
            *slot = Some(model.to_string());
        }
        self.app.metrics.tokens(model, prompt, completion);
    }

    /// Notes the first generated text (once).
    pub fn first_token(&self) {
        let secs = self.started.elapsed().as_secs_f64();
        if self.first_token.set(secs).is_ok() {
            self.app.metrics.first_token(self.route, secs);
        }
    }

    /// Overrides the status the response head carried (a stream that failed later).
    pub fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::Relaxed);
    }
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        let secs = self.started.elapsed().as_secs_f64();
        let status = self.status.load(Ordering::Relaxed);
        self.app.metrics.request(self.route, status, secs);
        let model = self.model.lock().ok().and_then(|m| m.clone());
        let line = serde_json::json!({
            "request": self.id,
            "method": self.method,
            "route": self.route,
            "status": status,
            "model": model,
            "prompt_tokens": self.prompt_tokens.load(Ordering::Relaxed),
            "completion_tokens": self.completion_tokens.load(Ordering::Relaxed),
            "first_token_ms": self.first_token.get().map(|s| (s * 1000.0).round()),
            "latency_ms": (secs * 1000.0).round(),
        });
        eprintln!("saar: {line}");
    }
}

/// Checks the API key, then runs the request with a [`RequestLog`] in its extensions.
pub(crate) async fn observe(
    State(app): State<Arc<App>>,
    mut request: Request,
    next: Next,
) -> Response {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let path = request.uri().path();
    let route = ROUTES
        .iter()
        .find(|r| **r == path)
        .copied()
        .unwrap_or("other");
    let log = Arc::new(RequestLog {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        method: request.method().to_string(),
        route,
        started: Instant::now(),
        status: AtomicU16::new(0),
        prompt_tokens: AtomicUsize::new(0),
        completion_tokens: AtomicUsize::new(0),
        model: Mutex::new(None),
        first_token: OnceLock::new(),
        app: app.clone(),
    });
    if route != "/health" && !authorized(&app, &request) {
        log.set_status(401);
        return ApiError::unauthorized().into_response();
    }
    request.extensions_mut().insert(log.clone());
    let response = next.run(request).await;
    // A stream that already failed has set its own status.
    let _ = log.status.compare_exchange(
        0,
        response.status().as_u16(),
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    response
}

/// True without a key, or with `Authorization: Bearer <key>` (compared in constant time).
fn authorized(app: &App, request: &Request) -> bool {
    let Some(key) = &app.api_key else {
        return true;
    };
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or("");
    bool::from(given.as_bytes().ct_eq(key.as_bytes()))
}
