//! `saar serve`: flags, checked into the server's settings; the server itself is
//! `src/serve`. Models are resolved (downloaded if need be) here, before the server
//! binds, so a wrong `-m` fails at once with the CLI's one-line error.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::Args;

use super::batching::BatchingOptions;
use super::options::RuntimeOptions;
use crate::serve::{self, ServeSettings};

/// Serve models over HTTP: OpenAI-compatible chat completions and completions, saar's
/// summarize and translate, health and Prometheus metrics.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A model to load (preset, hub id, local directory or .gguf); repeat for more.
    /// Requests name a model by this value exactly; the first is the default.
    /// Default: the registry's default preset.
    #[arg(
        long = "model",
        short = 'm',
        value_name = "MODEL",
        help_heading = "Model"
    )]
    pub models: Vec<String>,
    /// Never use the network: load from the Hugging Face cache only.
    #[arg(long, help_heading = "Model")]
    pub offline: bool,
    /// A directory of prompt templates that override the built-in ones.
    #[arg(long, env = "SAAR_PROMPTS", value_name = "DIR", help_heading = "Model")]
    pub prompts: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub runtime: RuntimeOptions,
    #[command(flatten)]
    pub batching: BatchingOptions,
    /// The address to bind; the default serves this machine only.
    #[arg(
        long,
        env = "SAAR_HOST",
        default_value = "127.0.0.1",
        help_heading = "Server"
    )]
    pub host: IpAddr,
    /// The port; 0 lets the system pick one (printed on stderr).
    #[arg(
        long,
        env = "SAAR_PORT",
        default_value_t = 8080,
        help_heading = "Server"
    )]
    pub port: u16,
    /// Require `Authorization: Bearer <KEY>` on every route but /health.
    #[arg(
        long,
        env = "SAAR_API_KEY",
        value_name = "KEY",
        hide_env_values = true,
        help_heading = "Server"
    )]
    pub api_key: Option<String>,
    /// Requests that may wait for each model (beyond the --parallel it runs); more are
    /// refused with 429.
    #[arg(long, default_value_t = 64, help_heading = "Server")]
    pub max_queue: usize,
    /// The largest request body, in bytes; larger ones get 413.
    #[arg(long, default_value_t = 4 << 20, value_name = "BYTES", help_heading = "Server")]
    pub max_body: usize,
    /// Seconds a request may take, waiting included; 0 means no limit.
    #[arg(
        long,
        default_value_t = 600.0,
        value_name = "SECS",
        help_heading = "Server"
    )]
    pub request_timeout: f64,
    /// On SIGTERM/SIGINT, seconds running requests get to finish before they are stopped.
    #[arg(
        long,
        default_value_t = 30.0,
        value_name = "SECS",
        help_heading = "Server"
    )]
    pub shutdown_grace: f64,
}

pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    if args.max_queue == 0 {
        bail!("--max-queue must be at least 1");
    }
    let batching = args.batching.scheduler()?;
    let seconds = |flag: &str, secs: f64| {
        if secs.is_finite() && secs >= 0.0 {
            Ok(Duration::from_secs_f64(secs))
        } else {
            bail!("{flag} must be a number of seconds, 0 or more")
        }
    };
    let request_timeout =
        Some(seconds("--request-timeout", args.request_timeout)?).filter(|t| !t.is_zero());
    let shutdown_grace = seconds("--shutdown-grace", args.shutdown_grace)?;
    let names: Vec<Option<&str>> = if args.models.is_empty() {
        vec![None]
    } else {
        args.models.iter().map(|m| Some(m.as_str())).collect()
    };
    let mut models = Vec::with_capacity(names.len());
    for name in names {
        let files = super::options::resolve_model(name, args.offline)?;
        let id = name.map_or_else(|| files.name.clone(), str::to_string);
        if models.iter().any(|(seen, _)| *seen == id) {
            bail!("-m {id} is given twice: give each model once");
        }
        models.push((id, files));
    }
    serve::run(ServeSettings {
        models,
        placement: args.runtime.placement()?,
        prompts: super::options::task_prompts(args.prompts.as_deref())?,
        addr: SocketAddr::new(args.host, args.port),
        api_key: args.api_key.clone().filter(|key| !key.is_empty()),
        max_queue: args.max_queue,
        batching,
        max_body: args.max_body,
        request_timeout,
        shutdown_grace,
    })
}
