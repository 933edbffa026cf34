//! What `saar models` shows: for each preset, whether it is fully in the HF cache
//! and how much of it is on disk; and `saar models rm`, which deletes a model's
//! weights repo from the cache. Reads (or deletes from) the cache only; never the network.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::cache::RepoCache;
use super::resolve::resolve;
use super::{presets, HubSettings, ModelError, ModelSpec, Preset};

/// How much of a preset the cache holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheState {
    /// Every file resolves offline; `bytes` is the size of those files.
    Complete {
        bytes: u64,
        revision: Option<String>,
    },
    /// Some of the weights repo is on disk (an interrupted or different download).
    Partial { bytes: u64 },
    /// Nothing of the weights repo is cached.
    Missing,
}

/// A preset and its cache state, one row of `saar models`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetStatus {
    pub preset: &'static Preset,
    pub state: CacheState,
}

/// The cache state of one preset, found by resolving it offline.
pub fn cache_status(preset: &'static Preset, settings: &HubSettings) -> CacheState {
    match resolve(&ModelSpec::Preset(preset), &settings.offline()) {
        Ok(files) => {
            let unique: BTreeSet<&PathBuf> = files.paths().into_iter().collect();
            let bytes = unique
                .into_iter()
                .filter_map(|path| std::fs::metadata(path).ok())
                .map(|meta| meta.len())
                .sum();
            CacheState::Complete {
                bytes,
                revision: files.revision,
            }
        }
        Err(_) => match RepoCache::new(&settings.cache_dir, &preset.repo).bytes_on_disk() {
            0 => CacheState::Missing,
            bytes => CacheState::Partial { bytes },
        },
    }
}

/// Every preset with its cache state, in registry order.
pub fn list_presets(settings: &HubSettings) -> Result<Vec<PresetStatus>, ModelError> {
    Ok(presets()?
        .iter()
        .map(|preset| PresetStatus {
            preset,
            state: cache_status(preset, settings),
        })
        .collect())
}

/// What `saar models rm` deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// The hub repo whose cache folder went (every revision of it).
    pub repo: String,
    pub folder: PathBuf,
    /// Bytes the folder held.
    pub bytes: u64,
    /// A repo the preset also reads (its tokenizer) that was kept, because other
    /// models may read it too.
    pub kept: Option<String>,
}

/// Deletes the weights repo of `name` (a preset or `org/name[@revision]`) from the HF
/// cache, every revision of it. A local path is refused: saar never deletes those.
pub fn remove_cached(name: &str, settings: &HubSettings) -> Result<Removed, ModelError> {
    let (repo, kept) = match ModelSpec::parse(name)? {
        ModelSpec::Preset(preset) => {
            let (tokenizer_repo, _) = preset.tokenizer_source();
            let kept = (tokenizer_repo != preset.repo).then(|| tokenizer_repo.to_string());
            (preset.repo.clone(), kept)
        }
        ModelSpec::Hub { repo, .. } => (repo, None),
        ModelSpec::LocalDir(path) | ModelSpec::LocalGguf(path) => {
            return Err(ModelError::NotInCache {
                name: path.display().to_string(),
                reason: "it is a local path, not a model in the HF cache; delete it yourself"
                    .into(),
            })
        }
    };
    let cache = RepoCache::new(&settings.cache_dir, &repo);
    let folder = cache.folder().to_path_buf();
    if !folder.is_dir() {
        return Err(ModelError::NotInCache {
            name: name.to_string(),
            reason: format!(
                "{repo} is not in the HF cache at {}; `saar models` lists what is",
                settings.cache_dir.display()
            ),
        });
    }
    let bytes = cache.bytes_on_disk();
    std::fs::remove_dir_all(&folder).map_err(|e| ModelError::io(&folder, e))?;
    Ok(Removed {
        repo,
        folder,
        bytes,
        kept,
    })
}
