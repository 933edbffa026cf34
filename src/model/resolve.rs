//! From a [`ModelSpec`] to [`ModelFiles`]: picks where files come from (a local
//! path, the hub, or the cache when offline or unreachable) and gathers them with
//! the one set of file rules in `files.rs`.

use std::path::Path;

use super::cache::{is_commit_sha, RepoCache};
use super::files::{
    fetch_required, fetch_support_files, fetch_tokenizer_files, fetch_weights, CachedRepo,
    DirSource, FileSource, TokenizerFiles,
};
use super::fingerprint::fingerprint;
use super::hub::HubSource;
use super::{HubSettings, ModelError, ModelFiles, ModelSpec, Preset, Progress, Weights};

/// Local paths for every file of `spec`, downloading what is missing (unless offline).
pub fn resolve(spec: &ModelSpec, settings: &HubSettings) -> Result<ModelFiles, ModelError> {
    resolve_with_progress(spec, settings, &mut ())
}

/// [`resolve`], reporting each download to `progress`.
///
/// Commit-pinned specs are served from the cache without asking the hub. When the
/// hub cannot be reached, a complete cached copy is used instead, as huggingface_hub
/// does; if there is none, the network error is returned.
pub fn resolve_with_progress(
    spec: &ModelSpec,
    settings: &HubSettings,
    progress: &mut dyn Progress,
) -> Result<ModelFiles, ModelError> {
    resolve_scoped(spec, settings, progress, Scope::Everything)
}

/// Only what [`crate::model::tokenizer::ModelTokenizer::load`] needs, for work that
/// counts tokens without running the model (`saar split --chunks`): the small files,
/// and the weights only when the tokenizer lives inside them (a GGUF with nothing
/// beside it). Otherwise `weights` is an empty [`Weights::Safetensors`] list: these
/// files cannot load a model.
pub fn resolve_tokenizer(
    spec: &ModelSpec,
    settings: &HubSettings,
    progress: &mut dyn Progress,
) -> Result<ModelFiles, ModelError> {
    resolve_scoped(spec, settings, progress, Scope::TokenizerOnly)
}

/// How much of a model to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Everything,
    TokenizerOnly,
}

fn resolve_scoped(
    spec: &ModelSpec,
    settings: &HubSettings,
    progress: &mut dyn Progress,
    scope: Scope,
) -> Result<ModelFiles, ModelError> {
    if settings.offline {
        return resolve_once(spec, settings, progress, scope);
    }
    let offline = settings.offline();
    if is_pinned(spec) {
        if let Ok(files) = resolve_once(spec, &offline, progress, scope) {
            return Ok(files);
        }
    }
    match resolve_once(spec, settings, progress, scope) {
        Err(network @ (ModelError::Network { .. } | ModelError::HubUnavailable { .. })) => {
            resolve_once(spec, &offline, progress, scope).map_err(|_| network)
        }
        result => result,
    }
}

/// `saar models pull NAME`: parse the name and make sure every file is cached.
pub fn pull(
    name: &str,
    settings: &HubSettings,
    progress: &mut dyn Progress,
) -> Result<ModelFiles, ModelError> {
    resolve_with_progress(&ModelSpec::parse(name)?, settings, progress)
}

/// Every revision involved is a commit sha, so a cached copy cannot be stale.
fn is_pinned(spec: &ModelSpec) -> bool {
    match spec {
        ModelSpec::Hub { revision, .. } => is_commit_sha(revision),
        ModelSpec::Preset(preset) => {
            is_commit_sha(&preset.revision)
                && (preset.gguf.is_none() || is_commit_sha(preset.tokenizer_source().1))
        }
        ModelSpec::LocalDir(_) | ModelSpec::LocalGguf(_) => false,
    }
}

fn resolve_once(
    spec: &ModelSpec,
    settings: &HubSettings,
    progress: &mut dyn Progress,
    scope: Scope,
) -> Result<ModelFiles, ModelError> {
    let name = spec.display_name();
    match spec {
        ModelSpec::LocalDir(dir) => {
            let mut source = DirSource::local(dir);
            with_fingerprint(full_model(name, None, &mut source, scope)?)
        }
        ModelSpec::LocalGguf(path) => with_fingerprint(local_gguf(name, path)?),
        ModelSpec::Hub { repo, revision } => {
            let (mut source, commit) = open_repo(&name, repo, revision, settings, progress)?;
            full_model(name, Some((repo, commit)), source.as_mut(), scope)
        }
        ModelSpec::Preset(preset) => match &preset.gguf {
            Some(gguf) => preset_gguf(preset, gguf, settings, progress, scope),
            None => {
                let (mut source, commit) =
                    open_repo(&name, &preset.repo, &preset.revision, settings, progress)?;
                let files = full_model(name, Some((&preset.repo, commit)), source.as_mut(), scope)?;
                Ok(ModelFiles {
                    context_length: Some(preset.context_length),
                    ..files
                })
            }
        },
    }
}

/// A local model has no revision to say its files changed: its fingerprint stands in,
/// so resumed and reused work notices weights overwritten in place.
fn with_fingerprint(files: ModelFiles) -> Result<ModelFiles, ModelError> {
    Ok(ModelFiles {
        revision: Some(fingerprint(&files)?),
        ..files
    })
}

/// The hub when online, else the cached snapshot of `revision`.
fn open_repo<'p>(
    name: &str,
    repo: &str,
    revision: &str,
    settings: &HubSettings,
    progress: &'p mut dyn Progress,
) -> Result<(Box<dyn FileSource + 'p>, String), ModelError> {
    if !settings.offline {
        let source = HubSource::open(repo, revision, settings, progress)?;
        let commit = source.commit().to_string();
        return Ok((Box::new(source), commit));
    }
    let cached = CachedRepo {
        name: name.to_string(),
        repo: repo.to_string(),
        revision: revision.to_string(),
        cache_dir: settings.cache_dir.clone(),
    };
    let cache = RepoCache::new(&settings.cache_dir, repo);
    match cache.commit_for(revision) {
        Some(commit) => {
            let source = DirSource::snapshot(cache.snapshot_dir(&commit), cached);
            Ok((Box::new(source), commit))
        }
        None => Err(ModelError::NotCached {
            name: cached.name,
            repo: cached.repo,
            revision: cached.revision,
            cache_dir: cached.cache_dir,
            detail: String::new(),
        }),
    }
}

/// Config, tokenizer and weights from one place.
fn full_model(
    name: String,
    hub: Option<(&String, String)>,
    source: &mut dyn FileSource,
    scope: Scope,
) -> Result<ModelFiles, ModelError> {
    let support = fetch_support_files(source)?;
    // Marian's tokenizer is built from the vocabulary files in `other`.
    let has_tokenizer = support.tokenizer.json.is_some() || !support.other.is_empty();
    let weights = match scope {
        Scope::TokenizerOnly if has_tokenizer => Weights::Safetensors(Vec::new()),
        _ => fetch_weights(source)?,
    };
    let (repo, revision) = match hub {
        Some((repo, commit)) => (Some(repo.clone()), Some(commit)),
        None => (None, None),
    };
    Ok(ModelFiles {
        repo,
        revision,
        kind: support.kind,
        config: support.config,
        generation_config: support.tokenizer.generation_config,
        tokenizer: support.tokenizer.json,
        tokenizer_config: support.tokenizer.config,
        chat_template: support.tokenizer.chat_template,
        other: support.other,
        ..ModelFiles::new(name, weights)
    })
}

/// A GGUF preset: tokenizer files from the original repo, then the `.gguf` itself.
fn preset_gguf(
    preset: &Preset,
    gguf: &str,
    settings: &HubSettings,
    progress: &mut dyn Progress,
    scope: Scope,
) -> Result<ModelFiles, ModelError> {
    let (tokenizer_repo, tokenizer_revision) = preset.tokenizer_source();
    let tokenizer = {
        let (mut source, _) = open_repo(
            &preset.name,
            tokenizer_repo,
            tokenizer_revision,
            settings,
            progress,
        )?;
        fetch_tokenizer_files(source.as_mut())?
    };
    if scope == Scope::TokenizerOnly && tokenizer.json.is_some() {
        return Ok(ModelFiles {
            repo: Some(preset.repo.clone()),
            context_length: Some(preset.context_length),
            ..gguf_model(
                preset.name.clone(),
                Weights::Safetensors(Vec::new()),
                tokenizer,
            )
        });
    }
    let (mut source, commit) = open_repo(
        &preset.name,
        &preset.repo,
        &preset.revision,
        settings,
        progress,
    )?;
    let weights = fetch_required(source.as_mut(), gguf)?;
    Ok(ModelFiles {
        repo: Some(preset.repo.clone()),
        revision: Some(commit),
        context_length: Some(preset.context_length),
        ..gguf_model(preset.name.clone(), Weights::Gguf(weights), tokenizer)
    })
}

/// A bare `.gguf`: tokenizer files beside it are used when present.
fn local_gguf(name: String, path: &Path) -> Result<ModelFiles, ModelError> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let tokenizer = fetch_tokenizer_files(&mut DirSource::local(dir))?;
    Ok(gguf_model(
        name,
        Weights::Gguf(path.to_path_buf()),
        tokenizer,
    ))
}

/// A GGUF carries its own config; only tokenizer-side files sit beside it.
fn gguf_model(name: String, weights: Weights, tokenizer: TokenizerFiles) -> ModelFiles {
    ModelFiles {
        generation_config: tokenizer.generation_config,
        tokenizer: tokenizer.json,
        tokenizer_config: tokenizer.config,
        chat_template: tokenizer.chat_template,
        ..ModelFiles::new(name, weights)
    }
}
