//! Talking to the hub: the repo's commit and file list
//! (`/api/models/{repo}/revision/{rev}`), downloads into the shared cache with
//! progress (`download.rs`), every request under the timeouts and retries of
//! `net.rs`, and hub failures turned into [`ModelError`]s that say what to do.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::cache::RepoCache;
use super::download::fetch_into_cache;
use super::files::FileSource;
use super::net::{Failure, Http};
use super::{HubSettings, ModelError, Progress};

/// Which repo a request was about, for error messages.
struct Context<'a> {
    repo: &'a str,
    revision: &'a str,
    settings: &'a HubSettings,
}

/// The part of the hub's repo description saar uses.
#[derive(serde::Deserialize)]
struct RepoInfo {
    sha: String,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(serde::Deserialize)]
struct Sibling {
    rfilename: String,
}

/// A repo on the hub at one commit, its files fetched into the cache on demand.
pub(crate) struct HubSource<'p> {
    repo: String,
    revision: String,
    commit: String,
    files: BTreeSet<String>,
    http: Http,
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
        if let Some(problem) = settings.net.invalid() {
            return Err(ModelError::Other(problem.to_string()));
        }
        let http = Http::new(&settings.endpoint, settings.token.clone(), &settings.net);
        let context = Context {
            repo,
            revision,
            settings,
        };
        // Revisions like `refs/pr/1` travel as one path segment.
        let url = format!(
            "{}/api/models/{repo}/revision/{}",
            settings.endpoint,
            revision.replace('/', "%2F")
        );
        let info = http
            .retrying(&url, || {
                let response = http.get(&url, None)?;
                let text = response
                    .into_string()
                    .map_err(|e| Failure::body(&e, http.timeout(), false))?;
                serde_json::from_str::<RepoInfo>(&text).map_err(|e| {
                    Failure::BadResponse(format!("an unreadable repo description ({e})"))
                })
            })
            .map_err(|failure| map_failure(failure, &context, None))?;
        let cache = RepoCache::new(&settings.cache_dir, repo);
        cache.write_ref(revision, &info.sha)?;
        Ok(HubSource {
            repo: repo.to_string(),
            revision: revision.to_string(),
            commit: info.sha,
            files: info.siblings.into_iter().map(|s| s.rfilename).collect(),
            http,
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
        // Files are fetched by commit, so a branch moving mid-download cannot mix commits.
        let url = format!(
            "{}/{}/resolve/{}/{file}",
            self.settings.endpoint, self.repo, self.commit
        );
        fetch_into_cache(
            &self.http,
            &self.cache,
            &self.commit,
            file,
            &url,
            &mut *self.progress,
        )
        .map_err(|failure| map_failure(failure, &context, Some(file)))
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

fn map_failure(failure: Failure, context: &Context, file: Option<&str>) -> ModelError {
    let endpoint = context.settings.endpoint.clone();
    match (failure, file) {
        (Failure::Status { status, code, url }, _) => {
            map_status(status, &code, &url, context, file)
        }
        (Failure::Unreachable(detail), _) => ModelError::Network { endpoint, detail },
        (Failure::BadResponse(what), _) => ModelError::BadResponse { endpoint, what },
        (Failure::Local(error), _) => error,
        (Failure::GaveUp { host, tries, last }, Some(file)) => ModelError::Download {
            repo: context.repo.to_string(),
            file: file.to_string(),
            detail: format!("{host} failed {tries} tries, the last with {last}"),
        },
        (Failure::GaveUp { host, tries, last }, None) => {
            ModelError::HubUnavailable { host, tries, last }
        }
        // `retrying` turns every transient failure into GaveUp; one try is one try.
        (Failure::Transient { detail, .. }, _) => ModelError::HubUnavailable {
            host: super::net::host_of(&endpoint),
            tries: 1,
            last: detail,
        },
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
