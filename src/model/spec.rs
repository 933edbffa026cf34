//! What the user meant by `--model`: a local directory, a local `.gguf` file, a hub
//! id with an optional `@revision`, or a preset name, decided in that order.

use std::path::{Path, PathBuf};

use super::preset::{find_preset, known_names, Preset};
use super::ModelError;

/// A parsed `--model` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// A built-in preset from `models/`.
    Preset(&'static Preset),
    /// `org/name[@revision]` on the hub; revision defaults to `main`.
    Hub { repo: String, revision: String },
    /// A directory holding config, tokenizer and weight files.
    LocalDir(PathBuf),
    /// A single `.gguf` file (tokenizer files beside it are used when present).
    LocalGguf(PathBuf),
}

impl ModelSpec {
    /// Decides what `value` names; existing paths win over hub ids and presets.
    pub fn parse(value: &str) -> Result<Self, ModelError> {
        let value = value.trim();
        let path = Path::new(value);
        if path.is_dir() {
            return Ok(ModelSpec::LocalDir(path.to_path_buf()));
        }
        if path.is_file() {
            return if has_gguf_extension(path) {
                Ok(ModelSpec::LocalGguf(path.to_path_buf()))
            } else {
                Err(ModelError::NotAModelFile {
                    path: path.to_path_buf(),
                })
            };
        }
        if looks_like_path(value) {
            return Err(ModelError::PathNotFound {
                path: path.to_path_buf(),
            });
        }
        if value.contains('/') {
            return parse_hub_id(value);
        }
        match find_preset(value)? {
            Some(preset) => Ok(ModelSpec::Preset(preset)),
            None => Err(ModelError::UnknownPreset {
                name: value.to_string(),
                known: known_names(),
            }),
        }
    }

    /// How the model is named in output and in `saar models pull` hints.
    pub fn display_name(&self) -> String {
        match self {
            ModelSpec::Preset(preset) => preset.name.clone(),
            ModelSpec::Hub { repo, revision } if revision == "main" => repo.clone(),
            ModelSpec::Hub { repo, revision } => format!("{repo}@{revision}"),
            ModelSpec::LocalDir(path) | ModelSpec::LocalGguf(path) => path.display().to_string(),
        }
    }
}

fn has_gguf_extension(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("gguf"))
}

/// Strings no hub id or preset can be, so a missing file is the likely meaning.
fn looks_like_path(value: &str) -> bool {
    value.starts_with(['/', '.', '~', '\\'])
        || value.contains('\\')
        || value.matches('/').count() > 1
        || has_gguf_extension(Path::new(value))
        || (value.len() > 1 && value.as_bytes()[1] == b':') // C:\ on Windows
}

fn parse_hub_id(value: &str) -> Result<ModelSpec, ModelError> {
    let invalid = |reason: &str| ModelError::InvalidRepoId {
        spec: value.to_string(),
        reason: reason.to_string(),
    };
    let (repo, revision) = match value.split_once('@') {
        Some((repo, revision)) if !revision.is_empty() => (repo, revision),
        Some(_) => return Err(invalid("nothing follows `@`")),
        None => (value, "main"),
    };
    let (org, name) = repo
        .split_once('/')
        .ok_or_else(|| invalid("the `org/` part is missing"))?;
    for part in [org, name] {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if part.is_empty() || !part.chars().all(allowed) {
            return Err(invalid(
                "org and name may only hold letters, digits, `-`, `_` and `.`",
            ));
        }
    }
    if revision.contains(char::is_whitespace)
        || revision.split('/').any(|p| p.is_empty() || p == "..")
    {
        return Err(invalid(
            "the revision must be a branch, tag or commit without spaces or `..`",
        ));
    }
    Ok(ModelSpec::Hub {
        repo: repo.to_string(),
        revision: revision.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(repo: &str, revision: &str) -> ModelSpec {
        ModelSpec::Hub {
            repo: repo.to_string(),
            revision: revision.to_string(),
        }
    }

    #[test]
    fn existing_directory_and_gguf_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dir_str = dir.path().to_str().expect("utf-8");
        assert_eq!(
            ModelSpec::parse(dir_str).expect("dir"),
            ModelSpec::LocalDir(dir.path().to_path_buf())
        );
        let gguf = dir.path().join("tiny.GGUF");
        std::fs::write(&gguf, b"GGUF").expect("write");
        let parsed = ModelSpec::parse(gguf.to_str().expect("utf-8")).expect("gguf");
        assert_eq!(parsed, ModelSpec::LocalGguf(gguf));
    }

    #[test]
    fn existing_non_gguf_file_is_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("model.safetensors");
        std::fs::write(&file, b"x").expect("write");
        let err = ModelSpec::parse(file.to_str().expect("utf-8")).unwrap_err();
        assert!(matches!(err, ModelError::NotAModelFile { .. }), "{err}");
    }

    #[test]
    fn missing_paths_say_they_do_not_exist() {
        for value in [
            "./nope",
            "/no/such/dir",
            "missing.gguf",
            "a/b/c",
            "~/models/x",
        ] {
            let err = ModelSpec::parse(value).unwrap_err();
            assert!(
                matches!(err, ModelError::PathNotFound { .. }),
                "{value}: {err}"
            );
            assert!(err.to_string().contains("does not exist"), "{err}");
        }
    }

    #[test]
    fn hub_ids_with_and_without_revision() {
        assert_eq!(
            ModelSpec::parse("Qwen/Qwen3-1.7B").expect("id"),
            hub("Qwen/Qwen3-1.7B", "main")
        );
        assert_eq!(
            ModelSpec::parse("Qwen/Qwen3-1.7B@v1.0").expect("id"),
            hub("Qwen/Qwen3-1.7B", "v1.0")
        );
        let sha = "70d244cc86ccca08cf5af4e1e306ecf908b1ad5e";
        let parsed = ModelSpec::parse(&format!("Qwen/Qwen3-1.7B@{sha}")).expect("id");
        assert_eq!(parsed, hub("Qwen/Qwen3-1.7B", sha));
        assert_eq!(parsed.display_name(), format!("Qwen/Qwen3-1.7B@{sha}"));
        assert_eq!(hub("a/b", "main").display_name(), "a/b");
    }

    #[test]
    fn malformed_hub_ids_are_rejected() {
        for value in [
            "org/",
            "/name@x",
            "org/na me",
            "org/name@",
            "org/n@x y",
            "org/n@../x",
        ] {
            let err = ModelSpec::parse(value).unwrap_err();
            assert!(
                matches!(
                    err,
                    ModelError::InvalidRepoId { .. } | ModelError::PathNotFound { .. }
                ),
                "{value}: {err}"
            );
        }
    }

    #[test]
    fn preset_names_resolve_case_insensitively() {
        match ModelSpec::parse("Qwen3-1.7B").expect("preset") {
            ModelSpec::Preset(preset) => assert_eq!(preset.name, "qwen3-1.7b"),
            other => panic!("expected a preset, got {other:?}"),
        }
    }

    #[test]
    fn unknown_preset_lists_known_ones_and_other_forms() {
        let err = ModelSpec::parse("gpt-9").unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, ModelError::UnknownPreset { .. }));
        for needle in ["gpt-9", "qwen3-1.7b", "opus-mt-hi-en", "org/name", ".gguf"] {
            assert!(message.contains(needle), "{needle} missing from: {message}");
        }
    }
}
