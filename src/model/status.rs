//! What `saar models` shows: for each preset, whether it is fully in the HF cache
//! and how much of it is on disk. Reads the cache only; never the network.

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
