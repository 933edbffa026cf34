//! A stand-in Hugging Face hub on 127.0.0.1 for the download tests: it serves the
//! two routes hf-hub 0.4.3's sync API calls, with the headers it needs.
//!
//! - `GET /api/models/{org}/{name}/revision/{rev}` → `{"sha": …, "siblings": […]}`
//! - `GET /{org}/{name}/resolve/{rev}/{file}` → the bytes, honouring `Range`
//!   (hf-hub asks for `bytes=0-0` to learn the size from `Content-Range`, then
//!   `bytes=N-`), with `x-repo-commit` and `etag` (the blob name in the cache).
//!
//! Failures carry `x-error-code` as the real hub does (RepoNotFound,
//! RevisionNotFound, EntryNotFound, GatedRepo). Planned trouble: a file or the repo
//! description answers HTTP 500 a number of times first, and a file can live on a
//! "CDN" (tests/hub/raw_server.rs) that the hub redirects to, as it does for LFS files.

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};
use tiny_http::{Header, Response, Server};

type Reply = Response<Cursor<Vec<u8>>>;

/// One repo: named revisions pointing at commits, and each commit's files.
#[derive(Clone, Default)]
pub struct FakeRepo {
    refs: BTreeMap<String, String>,
    commits: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// When set, file downloads need `Authorization: Bearer <token>`.
    gated_token: Option<String>,
    /// Downloads of these files that still fail with 500 before one succeeds; the key
    /// `INFO` stands for the repo description.
    flaky: Arc<Mutex<HashMap<String, usize>>>,
    /// Files whose bytes live elsewhere: the hub answers 302 to this URL.
    cdn: HashMap<String, String>,
}

/// The key of the repo description among the flaky routes.
const INFO: &str = "/api";

impl FakeRepo {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds commit `sha` holding `files`, named by `branch` if given.
    pub fn commit(mut self, sha: &str, branch: Option<&str>, files: &[(&str, &[u8])]) -> Self {
        let files = files
            .iter()
            .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
            .collect();
        self.commits.insert(sha.to_string(), files);
        if let Some(branch) = branch {
            self.refs.insert(branch.to_string(), sha.to_string());
        }
        self
    }

    /// The next `failures` body downloads of `file` (not the size probes) get a 500.
    pub fn flaky(self, file: &str, failures: usize) -> Self {
        self.flaky
            .lock()
            .expect("lock")
            .insert(file.to_string(), failures);
        self
    }

    /// The next `failures` requests for the repo description get a 500.
    pub fn flaky_info(self, failures: usize) -> Self {
        self.flaky(INFO, failures)
    }

    /// `file`'s downloads are redirected to `url`, as the hub sends LFS files to its CDN.
    pub fn on_cdn(mut self, file: &str, url: &str) -> Self {
        self.cdn.insert(file.to_string(), url.to_string());
        self
    }

    /// Consumes one planned failure of `file`, if any is left.
    fn fails_now(&self, file: &str, range: Option<&str>) -> bool {
        if range == Some("bytes=0-0") {
            return false;
        }
        let mut flaky = self.flaky.lock().expect("lock");
        match flaky.get_mut(file) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }

    pub fn gated(mut self, token: &str) -> Self {
        self.gated_token = Some(token.to_string());
        self
    }

    fn commit_for(&self, revision: &str) -> Option<&str> {
        if self.commits.contains_key(revision) {
            return Some(self.commits.get_key_value(revision)?.0);
        }
        self.refs.get(revision).map(String::as_str)
    }
}

/// What the hub was asked.
#[derive(Debug, Clone)]
pub struct Seen {
    pub url: String,
    pub authorization: Option<String>,
    pub range: Option<String>,
}

pub struct FakeHub {
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
    pub endpoint: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeHub {
    pub fn start(repos: Vec<(&str, FakeRepo)>) -> Self {
        let server = Arc::new(Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let port = server.server_addr().to_ip().expect("ip address").port();
        let repos: HashMap<String, FakeRepo> = repos
            .into_iter()
            .map(|(id, repo)| (id.to_string(), repo))
            .collect();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (thread_server, thread_seen) = (Arc::clone(&server), Arc::clone(&seen));
        let thread = std::thread::spawn(move || {
            // recv fails once `unblock` is called: that ends the loop.
            while let Ok(request) = thread_server.recv() {
                let find = |name: &str| {
                    request
                        .headers()
                        .iter()
                        .find(|h| h.field.to_string().eq_ignore_ascii_case(name))
                        .map(|h| h.value.to_string())
                };
                let (authorization, range) = (find("Authorization"), find("Range"));
                let url = request.url().to_string();
                let reply = route(&repos, &url, authorization.as_deref(), range.as_deref());
                let seen = Seen {
                    url,
                    authorization,
                    range,
                };
                thread_seen.lock().expect("lock").push(seen);
                let _ = request.respond(reply);
            }
        });
        FakeHub {
            server,
            thread: Some(thread),
            endpoint: format!("http://127.0.0.1:{port}"),
            seen,
        }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

fn error(status: u16, code: &str) -> Reply {
    Response::from_string(format!("{{\"error\":\"{code}\"}}"))
        .with_status_code(status)
        .with_header(header("x-error-code", code))
}

fn route(
    repos: &HashMap<String, FakeRepo>,
    url: &str,
    auth: Option<&str>,
    range: Option<&str>,
) -> Reply {
    if let Some(rest) = url.strip_prefix("/api/models/") {
        let Some((repo_id, revision)) = rest.split_once("/revision/") else {
            return error(400, "BadRequest");
        };
        let Some(repo) = repos.get(repo_id) else {
            return error(404, "RepoNotFound");
        };
        let Some(commit) = repo.commit_for(revision) else {
            return error(404, "RevisionNotFound");
        };
        if repo.fails_now(INFO, None) {
            return error(500, "InternalError");
        }
        let siblings: Vec<serde_json::Value> = repo.commits[commit]
            .keys()
            .map(|name| serde_json::json!({ "rfilename": name }))
            .collect();
        let body = serde_json::json!({ "id": repo_id, "sha": commit, "siblings": siblings });
        return Response::from_string(body.to_string())
            .with_header(header("Content-Type", "application/json"));
    }
    let path = url.trim_start_matches('/');
    let Some((repo_id, rest)) = path.split_once("/resolve/") else {
        return error(404, "RepoNotFound");
    };
    let Some(repo) = repos.get(repo_id) else {
        return error(404, "RepoNotFound");
    };
    if let Some(token) = &repo.gated_token {
        if auth != Some(format!("Bearer {token}").as_str()) {
            return error(401, "GatedRepo");
        }
    }
    let Some((revision, file)) = rest.split_once('/') else {
        return error(404, "EntryNotFound");
    };
    let Some(commit) = repo.commit_for(revision) else {
        return error(404, "RevisionNotFound");
    };
    let Some(bytes) = repo.commits[commit].get(file) else {
        return error(404, "EntryNotFound");
    };
    if repo.fails_now(file, range) {
        return error(500, "InternalError");
    }
    let etag = format!("\"{:x}\"", Sha256::digest(bytes));
    if let Some(url) = repo.cdn.get(file) {
        // As the hub answers for an LFS file: the blob's name and size, then elsewhere.
        return Response::from_data(Vec::new())
            .with_status_code(302)
            .with_header(header("Location", url))
            .with_header(header("x-repo-commit", commit))
            .with_header(header("x-linked-etag", &etag))
            .with_header(header("x-linked-size", &bytes.len().to_string()));
    }
    let (status, body, content_range) = slice(bytes, range);
    let mut reply = Response::from_data(body)
        .with_status_code(status)
        .with_header(header("x-repo-commit", commit))
        .with_header(header("etag", &etag));
    if let Some(content_range) = content_range {
        reply.add_header(header("Content-Range", &content_range));
    }
    reply
}

/// The part of `bytes` a `Range: bytes=a-b` / `bytes=a-` header asks for.
fn slice(bytes: &[u8], range: Option<&str>) -> (u16, Vec<u8>, Option<String>) {
    let total = bytes.len();
    let Some(spec) = range.and_then(|r| r.strip_prefix("bytes=")) else {
        return (200, bytes.to_vec(), None);
    };
    let (start, end) = spec.split_once('-').unwrap_or((spec, ""));
    let start: usize = start.parse().unwrap_or(0).min(total);
    let end: usize = end
        .parse()
        .map(|end: usize| end.min(total.saturating_sub(1)))
        .unwrap_or(total.saturating_sub(1));
    let body = bytes.get(start..=end).unwrap_or_default().to_vec();
    (206, body, Some(format!("bytes {start}-{end}/{total}")))
}
