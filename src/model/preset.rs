//! The preset registry: one TOML file per preset in `models/`, compiled into the
//! binary, so `--model qwen3-1.7b` names a pinned repo, revision and file set.

use std::sync::OnceLock;

use serde::Deserialize;

use super::ModelError;

/// One line per preset; the file stem is the preset's name.
const SOURCES: &[(&str, &str)] = &[
    ("qwen3-1.7b", include_str!("../../models/qwen3-1.7b.toml")),
    ("qwen3-4b", include_str!("../../models/qwen3-4b.toml")),
    (
        "qwen2.5-1.5b",
        include_str!("../../models/qwen2.5-1.5b.toml"),
    ),
    (
        "qwen3-1.7b-bf16",
        include_str!("../../models/qwen3-1.7b-bf16.toml"),
    ),
    (
        "qwen3-4b-bf16",
        include_str!("../../models/qwen3-4b-bf16.toml"),
    ),
    ("gemma-3-4b", include_str!("../../models/gemma-3-4b.toml")),
    (
        "gemma-3-4b-bf16",
        include_str!("../../models/gemma-3-4b-bf16.toml"),
    ),
    (
        "llama-3.2-3b",
        include_str!("../../models/llama-3.2-3b.toml"),
    ),
    (
        "opus-mt-hi-en",
        include_str!("../../models/opus-mt-hi-en.toml"),
    ),
    (
        "opus-mt-en-hi",
        include_str!("../../models/opus-mt-en-hi.toml"),
    ),
    (
        "indictrans2-hi-en",
        include_str!("../../models/indictrans2-hi-en.toml"),
    ),
    (
        "indictrans2-hi-en-1b",
        include_str!("../../models/indictrans2-hi-en-1b.toml"),
    ),
    (
        "indictrans2-en-hi",
        include_str!("../../models/indictrans2-en-hi.toml"),
    ),
    (
        "indictrans2-en-hi-1b",
        include_str!("../../models/indictrans2-en-hi-1b.toml"),
    ),
];

/// A named, pinned model the project knows how to run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    pub name: String,
    pub description: String,
    /// Hub repo holding the weights.
    pub repo: String,
    /// Commit sha where one was found in public material, else a branch name.
    pub revision: String,
    /// For GGUF presets: the one `.gguf` file to fetch from `repo`.
    #[serde(default)]
    pub gguf: Option<String>,
    /// Where tokenizer.json and friends come from when `repo` lacks them (GGUF repos
    /// whose metadata is not enough, or whose original repository is ungated).
    #[serde(default)]
    pub tokenizer_repo: Option<String>,
    #[serde(default)]
    pub tokenizer_revision: Option<String>,
    /// Model family as the engines name it (`qwen3`, `gemma3`, `llama`, `marian`, …).
    pub architecture: String,
    /// Context length saar uses for this preset.
    pub context_length: usize,
    pub licence: String,
    /// The repo requires accepting a licence on the hub, then HF_TOKEN.
    pub gated: bool,
    /// Approximate download size in megabytes (10^6 bytes).
    pub size_mb: u64,
    /// The preset used when `--model` is not given.
    #[serde(default)]
    pub default: bool,
    /// The preset `saar translate` uses when `--model` is not given.
    #[serde(default)]
    pub default_translator: bool,
}

impl Preset {
    /// Repo and revision for the tokenizer files. A GGUF preset without
    /// `tokenizer_repo` looks for them beside the `.gguf` and, finding none there,
    /// rebuilds the tokenizer from the file's own metadata.
    pub fn tokenizer_source(&self) -> (&str, &str) {
        match &self.tokenizer_repo {
            Some(repo) => (repo, self.tokenizer_revision.as_deref().unwrap_or("main")),
            None => (&self.repo, &self.revision),
        }
    }

    fn validate(&self, file_stem: &str) -> Result<(), String> {
        if self.name != file_stem {
            return Err(format!("name `{}` differs from the file name", self.name));
        }
        for repo in std::iter::once(&self.repo).chain(&self.tokenizer_repo) {
            if repo.split('/').count() != 2 || repo.split('/').any(str::is_empty) {
                return Err(format!("repo `{repo}` is not `org/name`"));
            }
        }
        match &self.gguf {
            Some(file) if !file.ends_with(".gguf") => Err(format!("gguf `{file}` is not a .gguf")),
            _ if self.revision.is_empty() || self.context_length == 0 || self.size_mb == 0 => {
                Err("revision, context_length and size_mb must be set".to_string())
            }
            _ => Ok(()),
        }
    }
}

static REGISTRY: OnceLock<Result<Vec<Preset>, (String, String)>> = OnceLock::new();

fn parse_registry() -> Result<Vec<Preset>, (String, String)> {
    let mut presets = Vec::with_capacity(SOURCES.len());
    for (stem, text) in SOURCES {
        let file = format!("models/{stem}.toml");
        let preset: Preset = toml::from_str(text).map_err(|e| (file.clone(), e.to_string()))?;
        preset.validate(stem).map_err(|reason| (file, reason))?;
        presets.push(preset);
    }
    for (field, count) in [
        ("default", presets.iter().filter(|p| p.default).count()),
        (
            "default_translator",
            presets.iter().filter(|p| p.default_translator).count(),
        ),
    ] {
        if count != 1 {
            let reason = format!("{count} presets are marked {field}; exactly one must be");
            return Err(("models/".to_string(), reason));
        }
    }
    Ok(presets)
}

/// Every built-in preset, in registry order.
pub fn presets() -> Result<&'static [Preset], ModelError> {
    match REGISTRY.get_or_init(parse_registry) {
        Ok(presets) => Ok(presets),
        Err((file, reason)) => Err(ModelError::InvalidPreset {
            file: file.clone(),
            reason: reason.clone(),
        }),
    }
}

/// The preset with this name (names are matched case-insensitively).
pub fn find_preset(name: &str) -> Result<Option<&'static Preset>, ModelError> {
    Ok(presets()?
        .iter()
        .find(|preset| preset.name.eq_ignore_ascii_case(name)))
}

/// The preset used when `--model` is not given.
pub fn default_preset() -> Result<&'static Preset, ModelError> {
    marked(|preset| preset.default)
}

/// The preset `saar translate` uses when `--model` is not given: a dedicated
/// translation model, better and faster at translating than the default LLM.
pub fn default_translation_preset() -> Result<&'static Preset, ModelError> {
    marked(|preset| preset.default_translator)
}

fn marked(is: impl Fn(&Preset) -> bool) -> Result<&'static Preset, ModelError> {
    // parse_registry guarantees exactly one of each mark.
    presets()?
        .iter()
        .find(|preset| is(preset))
        .ok_or_else(|| ModelError::InvalidPreset {
            file: "models/".to_string(),
            reason: "no default preset".to_string(),
        })
}

/// Known preset names joined for error messages.
pub(crate) fn known_names() -> String {
    match presets() {
        Ok(all) => all
            .iter()
            .map(|preset| preset.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        Err(_) => "none (the registry failed to load)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_toml_parses_and_validates() {
        for (stem, text) in SOURCES {
            let preset: Preset = toml::from_str(text)
                .unwrap_or_else(|e| panic!("models/{stem}.toml does not parse: {e}"));
            preset
                .validate(stem)
                .unwrap_or_else(|e| panic!("models/{stem}.toml: {e}"));
        }
        assert_eq!(presets().expect("registry").len(), SOURCES.len());
    }

    #[test]
    fn every_toml_in_models_dir_is_registered() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/models");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("models/ exists")
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".toml").map(str::to_string)
            })
            .collect();
        on_disk.sort();
        let mut registered: Vec<String> = SOURCES.iter().map(|(s, _)| s.to_string()).collect();
        registered.sort();
        assert_eq!(on_disk, registered);
    }

    #[test]
    fn default_is_qwen3_small_gguf() {
        let preset = default_preset().expect("default");
        assert_eq!(preset.name, "qwen3-1.7b");
        let translator = default_translation_preset().expect("default translator");
        assert_eq!(translator.name, "indictrans2-hi-en");
        assert_eq!(preset.gguf.as_deref(), Some("Qwen3-1.7B-Q4_K_M.gguf"));
        assert_eq!(preset.tokenizer_source().0, "Qwen/Qwen3-1.7B");
        assert!(!preset.gated);
    }

    #[test]
    fn revisions_are_full_shas_or_main() {
        for preset in presets().expect("registry") {
            let revisions = std::iter::once(preset.revision.as_str())
                .chain(preset.tokenizer_revision.as_deref());
            for revision in revisions {
                let is_sha =
                    revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit());
                assert!(is_sha || revision == "main", "{}: {revision}", preset.name);
            }
        }
    }

    #[test]
    fn gated_presets_and_marian_presets() {
        let gated: Vec<&str> = presets()
            .expect("registry")
            .iter()
            .filter(|p| p.gated)
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(
            gated,
            [
                "gemma-3-4b-bf16",
                "llama-3.2-3b",
                "indictrans2-hi-en",
                "indictrans2-hi-en-1b",
                "indictrans2-en-hi",
                "indictrans2-en-hi-1b"
            ]
        );
        let marian = find_preset("OPUS-MT-HI-EN")
            .expect("registry")
            .expect("found");
        assert_eq!(marian.architecture, "marian");
        assert_eq!(
            marian.tokenizer_source(),
            ("Helsinki-NLP/opus-mt-hi-en", "main")
        );
    }

    #[test]
    fn validation_rejects_broken_presets() {
        let good: Preset = toml::from_str(SOURCES[0].1).expect("parses");
        let mut no_file = good.clone();
        no_file.gguf = Some("weights.bin".to_string());
        assert!(no_file.validate("qwen3-1.7b").is_err());
        assert!(good.validate("other-name").is_err());
        let mut bad_repo = good.clone();
        bad_repo.repo = "just-a-name".to_string();
        assert!(bad_repo.validate("qwen3-1.7b").is_err());
        assert!(toml::from_str::<Preset>("name = 'x'\nsurprise = 1").is_err());
    }
}
