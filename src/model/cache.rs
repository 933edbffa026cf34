//! The HF hub cache as Python's huggingface_hub lays it out, read and written
//! here: `models--org--name/refs/<revision>` holds a
//! commit sha, `snapshots/<sha>/<file>` links into `blobs/`.
//!
//! Downloads (`download.rs`) write blobs and snapshot links here; finding a commit's
//! snapshot directly, writing the branch ref once, and measuring what is on disk are
//! done here too. hf-hub lends only the folder name.

use std::path::{Path, PathBuf};

use super::ModelError;

/// One repo's folder in the hub cache.
#[derive(Debug, Clone)]
pub(crate) struct RepoCache {
    root: PathBuf,
}

/// A full 40-hex commit id (an immutable revision).
pub(crate) fn is_commit_sha(revision: &str) -> bool {
    revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit())
}

impl RepoCache {
    pub fn new(cache_dir: &Path, repo: &str) -> Self {
        let folder = hf_hub::Repo::model(repo.to_string()).folder_name();
        RepoCache {
            root: cache_dir.join(folder),
        }
    }

    /// The repo's own folder, `models--org--name`.
    pub fn folder(&self) -> &Path {
        &self.root
    }

    pub fn snapshot_dir(&self, commit: &str) -> PathBuf {
        self.root.join("snapshots").join(commit)
    }

    fn ref_path(&self, revision: &str) -> Option<PathBuf> {
        // Revisions like `refs/pr/1` nest folders, as in huggingface_hub; `..` could escape.
        let safe = !revision
            .split('/')
            .any(|part| part.is_empty() || part == "..");
        safe.then(|| self.root.join("refs").join(revision))
    }

    /// The commit a revision points to in the cache, if its snapshot is there.
    pub fn commit_for(&self, revision: &str) -> Option<String> {
        let commit = if is_commit_sha(revision) {
            revision.to_string()
        } else {
            let text = std::fs::read_to_string(self.ref_path(revision)?).ok()?;
            text.trim().to_string()
        };
        (!commit.is_empty() && self.snapshot_dir(&commit).is_dir()).then_some(commit)
    }

    /// Records that `revision` (a branch or tag) points at `commit`.
    pub fn write_ref(&self, revision: &str, commit: &str) -> Result<(), ModelError> {
        if revision == commit {
            return Ok(());
        }
        let Some(path) = self.ref_path(revision) else {
            return Ok(());
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| ModelError::io(parent, e))?;
        }
        std::fs::write(&path, commit).map_err(|e| ModelError::io(&path, e))
    }

    pub fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs")
    }

    /// Where a file's bytes live, named by the etag the hub gives them.
    pub fn blob_path(&self, etag: &str) -> PathBuf {
        self.blobs_dir().join(etag)
    }

    /// Bytes of real files under the repo folder (blobs, and snapshot files where
    /// the platform could not make symlinks).
    pub fn bytes_on_disk(&self) -> u64 {
        bytes_under(&self.root)
    }
}

fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => bytes_under(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn layout_matches_huggingface_hub() {
        let cache = RepoCache::new(Path::new("/c"), "Qwen/Qwen3-1.7B");
        assert_eq!(
            cache.snapshot_dir(SHA),
            PathBuf::from(format!("/c/models--Qwen--Qwen3-1.7B/snapshots/{SHA}"))
        );
    }

    #[test]
    fn refs_and_commits_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = RepoCache::new(dir.path(), "org/name");
        assert_eq!(cache.commit_for("main"), None);
        cache.write_ref("main", SHA).expect("write ref");
        // A ref without its snapshot is not a cached revision.
        assert_eq!(cache.commit_for("main"), None);
        std::fs::create_dir_all(cache.snapshot_dir(SHA)).expect("mkdir");
        assert_eq!(cache.commit_for("main").as_deref(), Some(SHA));
        assert_eq!(cache.commit_for(SHA).as_deref(), Some(SHA));
        cache.write_ref("refs/pr/1", SHA).expect("nested ref");
        assert_eq!(cache.commit_for("refs/pr/1").as_deref(), Some(SHA));
        assert_eq!(cache.commit_for("../../etc"), None);
        // Writing a commit as its own ref is a no-op, as in huggingface_hub.
        cache.write_ref(SHA, SHA).expect("no-op");
        assert!(!dir.path().join("models--org--name/refs").join(SHA).exists());
    }

    #[test]
    fn bytes_on_disk_counts_files_not_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = RepoCache::new(dir.path(), "org/name");
        let blobs = dir.path().join("models--org--name/blobs");
        std::fs::create_dir_all(&blobs).expect("mkdir");
        std::fs::write(blobs.join("aaa"), [0u8; 300]).expect("write");
        let snapshot = cache.snapshot_dir(SHA);
        std::fs::create_dir_all(&snapshot).expect("mkdir");
        #[cfg(unix)]
        std::os::unix::fs::symlink(blobs.join("aaa"), snapshot.join("f")).expect("link");
        assert_eq!(cache.bytes_on_disk(), 300);
    }
}
