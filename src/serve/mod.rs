//! `saar serve`: the HTTP door onto the same model API the CLI uses. axum on tokio
//! answers HTTP; each model lives on threads of its own ([`worker`]) behind a bounded
//! queue, so no handler ever runs model code. An LLM's requests decode together in one
//! batch (`--parallel`). Routes: OpenAI's chat completions,
//! completions and models, saar's summarize and translate, health and metrics.

mod api;
mod error;
mod metrics;
mod observe;
mod routes;
mod stream;
mod worker;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::routing::{get, post};
use axum::Router;

use saar::engine::{Placement, SchedulerOptions};
use saar::model::ModelFiles;
use saar::prompt::TaskPrompts;

use error::ApiError;
use metrics::Metrics;
use worker::ModelHandle;

/// Everything `saar serve` was told, checked.
pub struct ServeSettings {
    /// Each model's id (the `-m` value as given) and its resolved files; the first
    /// is the default.
    pub models: Vec<(String, ModelFiles)>,
    pub placement: Placement,
    pub prompts: TaskPrompts,
    pub addr: SocketAddr,
    pub api_key: Option<String>,
    pub max_queue: usize,
    /// How an LLM's requests decode together; `None`: one at a time.
    pub batching: Option<SchedulerOptions>,
    pub max_body: usize,
    pub request_timeout: Option<Duration>,
    pub shutdown_grace: Duration,
}

/// What every handler shares.
pub(crate) struct App {
    models: Vec<ModelHandle>,
    metrics: Arc<Metrics>,
    api_key: Option<String>,
    max_body: usize,
    request_timeout: Option<Duration>,
    /// Raised when the shutdown grace period is over: running generations stop.
    shutdown: Arc<AtomicBool>,
    /// Unix time the server started (the models' `created`).
    started: u64,
}

impl App {
    /// The model a request names, or the default (the first `-m`).
    fn model(&self, id: Option<&str>) -> Result<&ModelHandle, ApiError> {
        match id {
            None => Ok(&self.models[0]),
            Some(id) => self.models.iter().find(|m| m.id == id).ok_or_else(|| {
                ApiError::not_found(format!(
                    "model `{id}` is not served here; GET /v1/models lists the ones that are"
                ))
            }),
        }
    }
}

/// Runs the server until SIGTERM or SIGINT, then drains it and returns.
pub fn run(settings: ServeSettings) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("saar-http")
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(serve(settings))
}

async fn serve(settings: ServeSettings) -> anyhow::Result<ExitCode> {
    let metrics = Arc::new(Metrics::new());
    let (loaded, load_results) = std::sync::mpsc::channel();
    let count = settings.models.len();
    let mut models = Vec::with_capacity(count);
    for (id, files) in settings.models {
        models.push(
            ModelHandle::start(
                id,
                files,
                settings.placement.clone(),
                settings.prompts.clone(),
                settings.max_queue,
                settings.batching.clone(),
                metrics.clone(),
                loaded.clone(),
            )
            .context("cannot start a model thread")?,
        );
    }
    let app = Arc::new(App {
        models,
        metrics,
        api_key: settings.api_key,
        max_body: settings.max_body,
        request_timeout: settings.request_timeout,
        shutdown: Arc::new(AtomicBool::new(false)),
        started: routes::unix_now(),
    });
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}: is another server on that port?",
                settings.addr
            )
        })?;
    eprintln!("saar: listening on http://{}", listener.local_addr()?);
    // `Some(message)` when a model failed to load; `None` once every model is up.
    let loading = tokio::task::spawn_blocking(move || {
        for _ in 0..count {
            match load_results.recv() {
                Ok(Ok(id)) => eprintln!("saar: model {id} is loaded"),
                Ok(Err(message)) => return Some(message),
                Err(_) => return Some("a model thread stopped while loading".to_string()),
            }
        }
        None
    });
    let server = axum::serve(listener, router(app.clone()))
        .with_graceful_shutdown(drain(app.clone(), settings.shutdown_grace));
    tokio::select! {
        served = server => {
            served.context("the server stopped")?;
            eprintln!("saar: stopped");
            Ok(ExitCode::SUCCESS)
        }
        Ok(Some(message)) = loading => {
            anyhow::bail!(message)
        }
    }
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(routes::chat))
        .route("/v1/completions", post(routes::completions))
        .route("/v1/summarize", post(routes::summarize))
        .route("/v1/translate", post(routes::translate))
        .route("/v1/models", get(routes::models))
        .route("/health", get(routes::health))
        .route("/metrics", get(routes::metrics))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            observe::observe,
        ))
        .with_state(app)
}

/// Resolves on SIGTERM or SIGINT: the server stops accepting and lets running requests
/// finish; once `grace` has passed, their generations are stopped too.
async fn drain(app: Arc<App>, grace: Duration) {
    wait_for_signal().await;
    eprintln!(
        "saar: shutting down: finishing running requests (up to {} s)",
        grace.as_secs_f64()
    );
    let flag = app.shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        flag.store(true, Ordering::Relaxed);
    });
}

async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
