//! Why a model could not be resolved, downloaded or read: one variant per cause,
//! each message one line that says what to do next.

use std::path::PathBuf;

/// Errors from resolving, downloading or reading model files.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{0}")]
    Other(String),

    #[error(
        "unknown model `{name}`: known presets are {known}; or pass a hub id `org/name[@revision]`, \
         a local model directory, or a .gguf file"
    )]
    UnknownPreset { name: String, known: String },

    #[error("{path} does not exist; pass an existing model directory or .gguf file, a preset, or `org/name`")]
    PathNotFound { path: PathBuf },

    #[error("{path} is a file but not a .gguf; pass a model directory, a .gguf file, a preset, or `org/name`")]
    NotAModelFile { path: PathBuf },

    #[error(
        "`{spec}` is not a valid hub id: {reason}; write it as `org/name` or `org/name@revision`"
    )]
    InvalidRepoId { spec: String, reason: String },

    #[error(
        "built-in preset {file} is invalid: {reason}; this is a bug in saar's models/ registry"
    )]
    InvalidPreset { file: String, reason: String },

    #[error(
        "{repo}@{revision} is not in the HF cache at {cache_dir}{detail}; run `saar models pull {name}` \
         with network, or unset HF_HUB_OFFLINE / drop --offline"
    )]
    NotCached {
        name: String,
        repo: String,
        revision: String,
        cache_dir: PathBuf,
        /// Empty, or ` (missing <file>)` when the snapshot is only partly there.
        detail: String,
    },

    #[error("cannot remove `{name}`: {reason}")]
    NotInCache { name: String, reason: String },

    #[error(
        "access to {repo} was refused (HTTP {status}); set HF_TOKEN after accepting the licence at \
         {licence_url} (or check the repo id)"
    )]
    Gated {
        repo: String,
        status: u16,
        licence_url: String,
    },

    #[error("model repo {repo} was not found at {endpoint}; check the id (`org/name`), or set HF_TOKEN if it is private")]
    RepoNotFound { repo: String, endpoint: String },

    #[error(
        "revision `{revision}` of {repo} was not found; check the branch, tag or commit after `@`"
    )]
    RevisionNotFound { repo: String, revision: String },

    #[error("{repo}@{revision} has no file {file}; pick another revision or a repo that ships it")]
    FileNotFound {
        repo: String,
        revision: String,
        file: String,
    },

    #[error(
        "could not reach the hub at {endpoint} ({detail}); check the network or HF_ENDPOINT, \
         or use --offline with a cached model"
    )]
    Network { endpoint: String, detail: String },

    #[error(
        "the hub at {host} failed {tries} tries, the last with {last}; check the network or \
         HF_ENDPOINT (SAAR_HTTP_TIMEOUT and SAAR_HTTP_RETRIES set the patience), or use --offline \
         with a cached model"
    )]
    HubUnavailable {
        host: String,
        tries: u32,
        last: String,
    },

    #[error("the hub at {endpoint} answered {what}; check HF_ENDPOINT or try again later")]
    BadResponse { endpoint: String, what: String },

    #[error("downloading {file} from {repo} failed: {detail}; run the command again to resume")]
    Download {
        repo: String,
        file: String,
        detail: String,
    },

    #[error("no weights in {location}: looked for {looked_for}; point --model at a directory or repo that has them")]
    NoWeights {
        location: String,
        looked_for: String,
    },

    #[error("{location} lacks {file}, which the model needs; download the complete model again")]
    MissingFile { location: String, file: String },

    #[error("cannot read {path}: {reason}; the file is damaged, download it again")]
    BadFile { path: PathBuf, reason: String },

    // The I/O error is part of the message, not a separate cause, so that printing
    // the causes does not say it twice.
    #[error("cannot access {path}: {error}; check the path and its permissions")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            error,
        }
    }
}
