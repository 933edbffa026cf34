//! The routes: each handler checks its body into a [`Job`], queues it on the model's
//! worker and answers from the worker's replies, whole or as server-sent events.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use saar::task::{Completion, Finish, Record, TaskSettings};

use super::api::{self, ArticleRequest, ChatRequest, CompletionRequest};
use super::error::ApiError;
use super::observe::RequestLog;
use super::stream::{self, Chunks};
use super::worker::{Job, ModelHandle, Reply, Work};
use super::App;

/// Raises a request's cancel flag when the request's future or stream is dropped: a
/// client that hangs up stops its generation at the next token.
pub(crate) struct CancelOnDrop(pub Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A queued job's replies, with the guard that cancels it when dropped.
pub(crate) struct Pending {
    pub replies: UnboundedReceiver<Reply>,
    /// Held for its drop: a request that goes away cancels its job.
    pub _cancel: CancelOnDrop,
    pub model: String,
    pub log: Arc<RequestLog>,
    pub timeout_secs: f64,
}

impl Pending {
    /// Waits for the final reply, noting the first piece for time-to-first-token.
    pub async fn finish(&mut self) -> Reply {
        while let Some(reply) = self.replies.recv().await {
            match reply {
                Reply::Piece(_) => self.log.first_token(),
                last => return last,
            }
        }
        Reply::Failed(ApiError::internal(
            "the model's worker stopped before answering",
        ))
    }
}

/// Reads the body up to `--max-body` (413 above it).
async fn body_bytes(app: &App, request: Request) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(request.into_body(), app.max_body)
        .await
        .map_err(|_| ApiError::too_large(app.max_body))
}

/// Queues `work` on `handle`, with the server's deadline and shutdown flag.
fn submit(
    app: &App,
    handle: &ModelHandle,
    work: Work,
    mut settings: TaskSettings,
    log: Arc<RequestLog>,
) -> Result<Pending, ApiError> {
    let cancel = Arc::new(AtomicBool::new(false));
    settings.stop.cancel.push(app.shutdown.clone());
    settings.stop.deadline = app.request_timeout.map(|t| Instant::now() + t);
    let (reply, replies) = unbounded_channel();
    handle.submit(
        Job {
            work,
            settings,
            reply,
            cancel: cancel.clone(),
        },
        &app.metrics,
    )?;
    Ok(Pending {
        replies,
        _cancel: CancelOnDrop(cancel),
        model: handle.id.clone(),
        log,
        timeout_secs: app.request_timeout.map_or(0.0, |t| t.as_secs_f64()),
    })
}

/// OpenAI's `finish_reason` for how a generation ended.
pub(crate) fn finish_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Length => "length",
        Finish::Eos | Finish::StopString | Finish::Cancelled | Finish::TimedOut => "stop",
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn usage_json(completion: &Completion) -> Value {
    let usage = &completion.usage;
    json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.generated_tokens,
        "total_tokens": usage.prompt_tokens + usage.generated_tokens,
    })
}

/// `POST /v1/chat/completions` and `POST /v1/completions`.
pub(crate) async fn chat(
    State(app): State<Arc<App>>,
    Extension(log): Extension<Arc<RequestLog>>,
    request: Request,
) -> Result<Response, ApiError> {
    let body = body_bytes(&app, request).await?;
    let request: ChatRequest = api::parse(&body)?;
    let handle = app.model(request.model.as_deref())?;
    let settings = request.sampling.settings()?;
    let work = Work::Chat(request.messages()?);
    let pending = submit(&app, handle, work, settings, log)?;
    let shape = Chunks::chat(handle.id.clone(), request.include_usage());
    respond(pending, shape, request.stream).await
}

pub(crate) async fn completions(
    State(app): State<Arc<App>>,
    Extension(log): Extension<Arc<RequestLog>>,
    request: Request,
) -> Result<Response, ApiError> {
    let body = body_bytes(&app, request).await?;
    let request: CompletionRequest = api::parse(&body)?;
    let handle = app.model(request.model.as_deref())?;
    let settings = request.sampling.settings()?;
    let work = Work::Complete(request.prompt()?);
    let pending = submit(&app, handle, work, settings, log)?;
    let shape = Chunks::text(handle.id.clone(), request.include_usage());
    respond(pending, shape, request.stream).await
}

/// A completion's reply: one JSON object, or a stream of chunks.
async fn respond(mut pending: Pending, shape: Chunks, stream: bool) -> Result<Response, ApiError> {
    if stream {
        return Ok(stream::completion_events(pending, shape));
    }
    match pending.finish().await {
        Reply::Completion(done) => {
            pending.log.usage(
                &pending.model,
                done.usage.prompt_tokens,
                done.usage.generated_tokens,
            );
            if done.finish == Finish::TimedOut {
                return Err(ApiError::timed_out(pending.timeout_secs));
            }
            Ok(Json(shape.whole(&done, usage_json(&done))).into_response())
        }
        Reply::Failed(err) => Err(err),
        other => Err(ApiError::internal(format!(
            "unexpected reply from the model: {other:?}"
        ))),
    }
}

/// `POST /v1/summarize`.
pub(crate) async fn summarize(
    State(app): State<Arc<App>>,
    Extension(log): Extension<Arc<RequestLog>>,
    request: Request,
) -> Result<Response, ApiError> {
    article(app, log, request, Work::Summarize).await
}

/// `POST /v1/translate`.
pub(crate) async fn translate(
    State(app): State<Arc<App>>,
    Extension(log): Extension<Arc<RequestLog>>,
    request: Request,
) -> Result<Response, ApiError> {
    article(app, log, request, Work::Translate).await
}

async fn article(
    app: Arc<App>,
    log: Arc<RequestLog>,
    request: Request,
    work: fn(saar::text::Prepared) -> Work,
) -> Result<Response, ApiError> {
    let body = body_bytes(&app, request).await?;
    let request: ArticleRequest = api::parse(&body)?;
    let handle = app.model(request.model.as_deref())?;
    let settings = request.settings()?;
    let article = request.article()?;
    let mut pending = submit(&app, handle, work(article), settings, log)?;
    if request.stream {
        return Ok(stream::record_events(pending));
    }
    match pending.finish().await {
        Reply::Record(record) => Ok(record_response(&pending, *record)),
        Reply::Failed(err) => Err(err),
        other => Err(ApiError::internal(format!(
            "unexpected reply from the model: {other:?}"
        ))),
    }
}

fn record_response(pending: &Pending, record: Record) -> Response {
    let usage = &record.usage;
    pending
        .log
        .usage(&pending.model, usage.prompt_tokens, usage.generated_tokens);
    Json(record).into_response()
}

/// `GET /v1/models`.
pub(crate) async fn models(State(app): State<Arc<App>>) -> Json<Value> {
    let data: Vec<Value> = app
        .models
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "object": "model",
                "created": app.started,
                "owned_by": "saar",
                "kind": m.files.kind,
                "ready": m.info().is_some(),
            })
        })
        .collect();
    Json(json!({"object": "list", "data": data}))
}

/// `GET /health`: 200 once every model is loaded, 503 before and while shutting down.
pub(crate) async fn health(State(app): State<Arc<App>>) -> Response {
    let loading: Vec<&str> = app
        .models
        .iter()
        .filter(|m| m.info().is_none())
        .map(|m| m.id.as_str())
        .collect();
    if app.shutdown.load(Ordering::Relaxed) {
        return ApiError::unavailable("the server is shutting down").into_response();
    }
    if loading.is_empty() {
        (StatusCode::OK, Json(json!({"status": "ok"}))).into_response()
    } else {
        ApiError::unavailable(format!("loading models: {}", loading.join(", "))).into_response()
    }
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such route: see the README for the routes saar serves")
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
