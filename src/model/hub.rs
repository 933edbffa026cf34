//! Talking to the hub through hf-hub's sync API: the repo's commit and file list
//! (`/api/models/{repo}/revision/{rev}`), downloads into the shared cache with
//! progress, and hub failures turned into [`ModelError`]s that say what to do.

use std::collections::BTreeSet;
use std::path::PathBuf;

use hf_hub::api::sync::{Api, ApiBuilder, ApiError, ApiRepo};
use hf_hub::api::Progress;
use hf_hub::{Cache, Repo, RepoType};

use super::cache::RepoCache;
use super::files::FileSource;
use super::{HubSettings, ModelError};

/// Which repo a request was about, for error messages.
struct Context<'a> {
    repo: &'a str,
    revision: &'a str,
    settings: &'a HubSettings,
}

/// A download that breaks off is tried again this many times (after 0.3, 0.6, 1.2 s),
/// resuming from the bytes already on disk: one dropped connection must not cost a
/// multi-gigabyte download, or an overnight batch run.
const DOWNLOAD_RETRIES: usize = 3;

fn api(settings: &HubSettings) -> Result<Api, ModelError> {
    // from_cache also reads a token file next to the cache; with_token replaces it
    // with the one HubSettings found (HF_TOKEN or $HF_HOME/token).
    ApiBuilder::from_cache(Cache::new(settings.cache_dir.clone()))
        .with_endpoint(settings.endpoint.clone())
        .with_token(settings.token.clone())
        .with_progress(false)
        .with_retries(DOWNLOAD_RETRIES)
        .with_user_agent("saar", env!("CARGO_PKG_VERSION"))
        .build()
        .map_err(|e| ModelError::Network {
            endpoint: settings.endpoint.clone(),
            detail: e.to_string(),
        })
}

fn api_repo(api: &Api, repo: &str, revision: &str) -> ApiRepo {
    api.repo(Repo::with_revision(
        repo.to_string(),
        RepoType::Model,
        revision.to_string(),
    ))
}

/// A repo on the hub at one commit, its files fetched into the cache on demand.
pub(crate) struct HubSource<'p> {
    repo: String,
    revision: String,
    commit: String,
    files: BTreeSet<String>,
    api_repo: ApiRepo,
    cache: RepoCache,
    settings: HubSettings,
    progress: &'p mut dyn Progress,
}

impl<'p> HubSource<'p> {
    /// Asks the hub which commit `revision` is and which files it holds, and
    /// records the revision → commit ref in the cache.
    pub fn open(
        repo: &str,
        revision: &str,
        settings: &HubSettings,
        progress: &'p mut dyn Progress,
    ) -> Result<Self, ModelError> {
        let api = api(settings)?;
        let context = Context {
            repo,
            revision,
            settings,
        };
        let info = api_repo(&api, repo, revision)
            .info()
            .map_err(|e| map_error(e, &context, None))?;
        let cache = RepoCache::new(&settings.cache_dir, repo);
        cache.write_ref(revision, &info.sha)?;
        Ok(HubSource {
            repo: repo.to_string(),
            revision: revision.to_string(),
            // Files are fetched by commit, so a branch moving mid-download cannot mix commits.
            api_repo: api_repo(&api, repo, &info.sha),
            commit: info.sha,
            files: info.siblings.into_iter().map(|s| s.rfilename).collect(),
            cache,
            settings: settings.clone(),
            progress,
        })
    }

    pub fn commit(&self) -> &str {
        &self.commit
    }
}

impl FileSource for HubSource<'_> {
    fn has(&self, file: &str) -> bool {
        self.files.contains(file)
    }

    fn fetch(&mut self, file: &str) -> Result<PathBuf, ModelError> {
        let cached = self.cache.snapshot_dir(&self.commit).join(file);
        if cached.is_file() {
            return Ok(cached);
        }
        let context = Context {
            repo: &self.repo,
            revision: &self.revision,
            settings: &self.settings,
        };
        let path = self
            .api_repo
            .download_with_progress(file, Forward(&mut *self.progress))
            .map_err(|e| map_error(e, &context, Some(file)))?;
        self.cache.drop_commit_ref(&self.commit);
        Ok(path)
    }

    fn missing(&self, file: &str) -> ModelError {
        ModelError::FileNotFound {
            repo: self.repo.clone(),
            revision: self.revision.clone(),
            file: file.to_string(),
        }
    }

    fn location(&self) -> String {
        format!("{}@{}", self.repo, self.revision)
    }
}

/// hf-hub takes its progress by value; this lends it the caller's.
struct Forward<'a>(&'a mut dyn Progress);

impl Progress for Forward<'_> {
    fn init(&mut self, size: usize, filename: &str) {
        self.0.init(size, filename);
    }

    fn update(&mut self, size: usize) {
        self.0.update(size);
    }

    fn finish(&mut self) {
        self.0.finish();
    }
}

fn map_error(error: ApiError, context: &Context, file: Option<&str>) -> ModelError {
    let endpoint = context.settings.endpoint.clone();
    let download = |detail: String| ModelError::Download {
        repo: context.repo.to_string(),
        file: file.unwrap_or("the repo description").to_string(),
        detail,
    };
    match error {
        ApiError::RequestError(request) => match *request {
            ureq::Error::Status(status, response) => {
                let code = response
                    .header("x-error-code")
                    .unwrap_or_default()
                    .to_string();
                map_status(status, &code, response.get_url(), context, file)
            }
            ureq::Error::Transport(transport) => ModelError::Network {
                endpoint,
                detail: transport.to_string(),
            },
        },
        ApiError::MissingHeader(header) | ApiError::InvalidHeader(header) => {
            ModelError::BadResponse {
                endpoint,
                what: format!("without a usable `{header}` header"),
            }
        }
        ApiError::ParseIntError(_) => ModelError::BadResponse {
            endpoint,
            what: "with an unreadable Content-Range".to_string(),
        },
        ApiError::IoError(e) if file.is_none() => ModelError::BadResponse {
            endpoint,
            what: format!("with an unreadable repo description ({e})"),
        },
        ApiError::IoError(e) => download(e.to_string()),
        ApiError::TooManyRetries(e) => download(e.to_string()),
        ApiError::InvalidResume => download(format!(
            "a partial download (*.part) under {} is longer than the file; delete it",
            context.settings.cache_dir.display()
        )),
        ApiError::LockAcquisition(path) => {
            download(format!("another process holds the lock {}", path.display()))
        }
    }
}

fn map_status(
    status: u16,
    code: &str,
    url: &str,
    context: &Context,
    file: Option<&str>,
) -> ModelError {
    let repo = context.repo.to_string();
    match (status, code) {
        (_, "GatedRepo") | (401 | 403, _) => ModelError::Gated {
            licence_url: context.settings.repo_url(&repo),
            repo,
            status,
        },
        (_, "RepoNotFound" | "RepositoryNotFound") => ModelError::RepoNotFound {
            repo,
            endpoint: context.settings.endpoint.clone(),
        },
        (_, "RevisionNotFound") => ModelError::RevisionNotFound {
            repo,
            revision: context.revision.to_string(),
        },
        (404, _) => match file {
            Some(file) => ModelError::FileNotFound {
                repo,
                revision: context.revision.to_string(),
                file: file.to_string(),
            },
            None => ModelError::RepoNotFound {
                repo,
                endpoint: context.settings.endpoint.clone(),
            },
        },
        _ => ModelError::BadResponse {
            endpoint: context.settings.endpoint.clone(),
            what: format!("HTTP {status} for {url}"),
        },
    }
}
