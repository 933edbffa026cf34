//! One file from the hub into the HF cache, laid out as huggingface_hub and hf-hub lay
//! it out: the bytes go to `blobs/<etag>.part` (a later try, or a later run, appends
//! to what is there), become `blobs/<etag>` when whole, and `snapshots/<commit>/<file>`
//! links to the blob. `blobs/<etag>.lock` keeps two processes off one download.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;
use sha2::{Digest, Sha256};

use super::cache::RepoCache;
use super::net::{Failure, Http};
use super::{ModelError, Progress};

/// What the hub says about a file before its bytes are fetched.
#[derive(Debug)]
struct Probe {
    /// The blob's name in the cache (for LFS files, the SHA-256 of the bytes).
    etag: String,
    size: u64,
    /// Where the bytes are: the file's URL, or the CDN address the hub redirected to.
    url: String,
}

/// Relative redirects followed while probing (the hub's own, e.g. a renamed repo).
const MAX_PROBE_REDIRECTS: usize = 5;

/// Downloads `file` of `commit` from `url` into `cache` unless its blob is there,
/// links it into the snapshot, and returns the snapshot path.
pub(crate) fn fetch_into_cache(
    http: &Http,
    cache: &RepoCache,
    commit: &str,
    file: &str,
    url: &str,
    progress: &mut dyn Progress,
) -> Result<PathBuf, Failure> {
    let probe = http.retrying(url, || probe(http, url))?;
    let blob = cache.blob_path(&probe.etag);
    let blobs = cache.blobs_dir();
    std::fs::create_dir_all(&blobs).map_err(|e| local(&blobs, e))?;
    if is_whole(&blob, probe.size) {
        // Another file (or commit) with the same bytes brought them already.
        progress.init(probe.size as usize, file);
        progress.update(probe.size as usize);
        progress.finish();
    } else {
        let lock_path = blob.with_extension("lock");
        let lock = File::create(&lock_path).map_err(|e| local(&lock_path, e))?;
        // Another process fetching the same blob finishes first; then it is there.
        lock.lock_exclusive().map_err(|e| local(&lock_path, e))?;
        if !is_whole(&blob, probe.size) {
            let part = blob.with_extension("part");
            http.retrying(&probe.url, || {
                download_part(http, &probe, &part, file, &mut *progress)
            })?;
            std::fs::rename(&part, &blob).map_err(|e| local(&blob, e))?;
        }
    }
    let pointer = cache.snapshot_dir(commit).join(file);
    link(&blob, &pointer, file).map_err(|e| local(&pointer, e))?;
    Ok(pointer)
}

fn local(path: &Path, error: std::io::Error) -> Failure {
    Failure::Local(ModelError::io(path, error))
}

fn is_whole(blob: &Path, size: u64) -> bool {
    std::fs::metadata(blob).is_ok_and(|meta| meta.is_file() && meta.len() == size)
}

/// Asks for the first byte without following redirects: the hub's answer names the
/// blob (`x-linked-etag` for LFS files, else `etag`); the size comes from
/// `x-linked-size`, else the `Content-Range` of wherever the bytes are.
fn probe(http: &Http, url: &str) -> Result<Probe, Failure> {
    let mut current = url.to_string();
    let mut response = http.probe(&current, Some("bytes=0-0"))?;
    for _ in 0..MAX_PROBE_REDIRECTS {
        match redirect(&response) {
            Some(location) if location.starts_with('/') => {
                current = format!("{}{location}", origin(&current));
                response = http.probe(&current, Some("bytes=0-0"))?;
            }
            _ => break,
        }
    }
    let header = |name: &str| response.header(name).map(|v| v.trim().to_string());
    let etag = header("x-linked-etag")
        .or_else(|| header("etag"))
        .map(|etag| etag.trim_start_matches("W/").replace('"', ""))
        .filter(|etag| is_safe_name(etag))
        .ok_or_else(|| Failure::BadResponse(format!("no usable etag for {current}")))?;
    let (size, url) = match (header("x-linked-size"), redirect(&response)) {
        (Some(size), Some(location)) => (parse_size(&size, &current)?, location),
        (None, Some(location)) => {
            let target = http.get(&location, Some("bytes=0-0"))?;
            (size_of(&target, &location)?, location)
        }
        (_, None) => (size_of(&response, &current)?, current),
    };
    Ok(Probe { etag, size, url })
}

/// The `Location` of a 3xx answer.
fn redirect(response: &ureq::Response) -> Option<String> {
    (300..400)
        .contains(&response.status())
        .then(|| response.header("Location").map(str::to_string))
        .flatten()
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

/// Blob names become file names: hex digits and little else.
fn is_safe_name(etag: &str) -> bool {
    !etag.is_empty()
        && etag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn parse_size(text: &str, url: &str) -> Result<u64, Failure> {
    text.trim()
        .parse()
        .map_err(|_| Failure::BadResponse(format!("an unreadable size `{text}` for {url}")))
}

/// The whole size from `Content-Range: bytes 0-0/N`, or `Content-Length` when the
/// server sent the whole file instead.
fn size_of(response: &ureq::Response, url: &str) -> Result<u64, Failure> {
    if let Some(range) = response.header("Content-Range") {
        let total = range.rsplit('/').next().unwrap_or_default();
        return parse_size(total, url);
    }
    match (response.status(), response.header("Content-Length")) {
        (200, Some(length)) => parse_size(length, url),
        _ => Err(Failure::BadResponse(format!(
            "neither Content-Range nor Content-Length for {url}"
        ))),
    }
}

/// One try at the rest of the file: asks for the bytes after those in `part`, appends
/// them, and checks the whole against the etag when it is a SHA-256.
fn download_part(
    http: &Http,
    probe: &Probe,
    part: &Path,
    file: &str,
    progress: &mut dyn Progress,
) -> Result<(), Failure> {
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(part)
        .map_err(|e| local(part, e))?;
    let mut have = out.metadata().map_err(|e| local(part, e))?.len();
    if have > probe.size {
        // Longer than the file: not a part of it; start over.
        out.set_len(0).map_err(|e| local(part, e))?;
        have = 0;
    }
    progress.init(probe.size as usize, file);
    progress.update(have as usize);
    if have < probe.size {
        let range = format!("bytes={have}-");
        let response = http.get(&probe.url, Some(&range))?;
        match (response.status(), response.header("Content-Range")) {
            (206, Some(range)) if range.starts_with(&format!("bytes {have}-")) => {}
            // The server ignored the range and sent everything: start over.
            (200, _) => {
                out.set_len(0).map_err(|e| local(part, e))?;
                progress.init(probe.size as usize, file);
                have = 0;
            }
            (status, range) => {
                return Err(Failure::BadResponse(format!(
                    "HTTP {status} (Content-Range {range:?}) to a request for bytes {have}- of {}",
                    probe.url
                )))
            }
        }
        let start = have;
        let mut reader = response.into_reader();
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let read = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) => return Err(Failure::body(&error, http.timeout(), have > start)),
            };
            out.write_all(&buffer[..read]).map_err(|e| local(part, e))?;
            have += read as u64;
            progress.update(read);
        }
        out.sync_data().map_err(|e| local(part, e))?;
        if have != probe.size {
            return Err(Failure::Transient {
                detail: format!("the file ended at {have} of {} bytes", probe.size),
                progressed: have > start,
            });
        }
    }
    progress.finish();
    check_sha256(part, &probe.etag)
}

/// An LFS etag is the SHA-256 of the bytes: a resumed file that does not match it is
/// thrown away and fetched again.
fn check_sha256(part: &Path, etag: &str) -> Result<(), Failure> {
    let is_sha256 = etag.len() == 64 && etag.chars().all(|c| c.is_ascii_hexdigit());
    if !is_sha256 {
        return Ok(());
    }
    let mut hasher = Sha256::new();
    let mut file = File::open(part).map_err(|e| local(part, e))?;
    std::io::copy(&mut file, &mut hasher).map_err(|e| local(part, e))?;
    let digest = format!("{:x}", hasher.finalize());
    if digest.eq_ignore_ascii_case(etag) {
        return Ok(());
    }
    std::fs::remove_file(part).map_err(|e| local(part, e))?;
    Err(Failure::transient("the bytes did not match their SHA-256"))
}

/// `snapshots/<commit>/<file>` → `../../blobs/<etag>` (one more `..` per folder in
/// `file`); a copy where the platform cannot link.
fn link(blob: &Path, pointer: &Path, file: &str) -> std::io::Result<()> {
    if let Some(parent) = pointer.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if std::fs::symlink_metadata(pointer).is_ok() {
        // A link to a blob that is gone, or a stale copy.
        std::fs::remove_file(pointer)?;
    }
    let ups = file.split('/').count() + 1;
    let mut target = PathBuf::new();
    for _ in 0..ups {
        target.push("..");
    }
    target.push("blobs");
    target.push(blob.file_name().unwrap_or_default());
    make_link(&target, pointer, blob)
}

#[cfg(unix)]
fn make_link(target: &Path, pointer: &Path, _blob: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, pointer)
}

/// Windows links only with developer mode or privileges; a copy serves otherwise.
#[cfg(not(unix))]
fn make_link(target: &Path, pointer: &Path, blob: &Path) -> std::io::Result<()> {
    #[cfg(windows)]
    if std::os::windows::fs::symlink_file(target, pointer).is_ok() {
        return Ok(());
    }
    let _ = target;
    std::fs::copy(blob, pointer).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_blob_names() {
        assert_eq!(origin("http://127.0.0.1:9/a/b"), "http://127.0.0.1:9");
        assert_eq!(origin("https://hf.co"), "https://hf.co");
        assert!(is_safe_name("0123abcdef"));
        for bad in ["", "../x", "a/b", "a b"] {
            assert!(!is_safe_name(bad), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_point_back_into_blobs_from_nested_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blob = dir.path().join("blobs/abc");
        std::fs::create_dir_all(blob.parent().expect("parent")).expect("mkdir");
        std::fs::write(&blob, b"bytes").expect("write");
        let pointer = dir.path().join("snapshots/c1/sub/f.json");
        link(&blob, &pointer, "sub/f.json").expect("link");
        assert_eq!(std::fs::read(&pointer).expect("read"), b"bytes");
        // Linking again replaces the old link.
        link(&blob, &pointer, "sub/f.json").expect("relink");
        assert_eq!(std::fs::read(&pointer).expect("read"), b"bytes");
    }
}
