//! Presets through the stand-in hub: a GGUF preset takes its tokenizer from the
//! original repo, a commit-pinned preset is served from the cache without asking
//! the hub, `pull` reports progress, and the cache status follows the downloads.

use std::path::PathBuf;

use saar::model::{
    cache_status, find_preset, list_presets, pull, resolve, CacheState, HubSettings, ModelSpec,
    Progress, Weights,
};

use super::fake_hub::{FakeHub, FakeRepo};

const GGUF: &[u8] = b"GGUF fake quantized weights";
const TOKENIZER: &[u8] = br#"{"model": {"type": "BPE"}}"#;

fn default_preset_hub() -> (FakeHub, &'static saar::model::Preset) {
    let preset = find_preset("qwen3-1.7b")
        .expect("registry")
        .expect("preset");
    let gguf_file = preset.gguf.as_deref().expect("a GGUF preset");
    let (tokenizer_repo, tokenizer_revision) = preset.tokenizer_source();
    let weights = FakeRepo::new().commit(&preset.revision, Some("main"), &[(gguf_file, GGUF)]);
    let tokenizer = FakeRepo::new().commit(
        tokenizer_revision,
        Some("main"),
        &[
            ("config.json", br#"{"model_type": "qwen3"}"#),
            ("tokenizer.json", TOKENIZER),
            ("tokenizer_config.json", b"{}"),
            ("generation_config.json", b"{}"),
            ("model.safetensors", b"full weights, not wanted"),
        ],
    );
    let hub = FakeHub::start(vec![(&preset.repo, weights), (tokenizer_repo, tokenizer)]);
    (hub, preset)
}

fn settings(hub: &FakeHub, cache: &std::path::Path) -> HubSettings {
    HubSettings {
        cache_dir: cache.to_path_buf(),
        endpoint: hub.endpoint.clone(),
        token: None,
        offline: false,
        net: saar::model::NetPolicy::new(
            std::time::Duration::from_secs(10),
            3,
            std::time::Duration::ZERO,
        ),
    }
}

#[derive(Default)]
struct Recorded {
    inits: Vec<(String, usize)>,
    bytes: usize,
    finishes: usize,
}

impl Progress for Recorded {
    fn init(&mut self, size: usize, filename: &str) {
        self.inits.push((filename.to_string(), size));
    }
    fn update(&mut self, size: usize) {
        self.bytes += size;
    }
    fn finish(&mut self) {
        self.finishes += 1;
    }
}

#[test]
fn gguf_preset_takes_its_tokenizer_from_the_original_repo() {
    let (hub, preset) = default_preset_hub();
    let cache = tempfile::tempdir().expect("tempdir");
    let files = resolve(&ModelSpec::Preset(preset), &settings(&hub, cache.path())).expect("ok");

    let gguf_path = cache
        .path()
        .join("models--unsloth--Qwen3-1.7B-GGUF/snapshots")
        .join(&preset.revision)
        .join("Qwen3-1.7B-Q4_K_M.gguf");
    assert_eq!(files.weights, Weights::Gguf(gguf_path));
    assert_eq!(files.revision.as_deref(), Some(preset.revision.as_str()));
    let tokenizer_dir = cache
        .path()
        .join("models--Qwen--Qwen3-1.7B/snapshots")
        .join(preset.tokenizer_source().1);
    assert_eq!(files.tokenizer, Some(tokenizer_dir.join("tokenizer.json")));
    assert_eq!(
        files.generation_config,
        Some(tokenizer_dir.join("generation_config.json"))
    );
    assert_eq!(files.config, None);
    assert_eq!(files.context_length, Some(32768));
    assert!(!tokenizer_dir.join("model.safetensors").exists());
}

#[test]
fn commit_pinned_preset_is_served_from_cache_without_the_hub() {
    let (hub, preset) = default_preset_hub();
    let cache = tempfile::tempdir().expect("tempdir");
    let s = settings(&hub, cache.path());
    let first = resolve(&ModelSpec::Preset(preset), &s).expect("downloads");
    let asked = hub.requests().len();
    assert!(asked > 0);
    let again = resolve(&ModelSpec::Preset(preset), &s).expect("cached");
    assert_eq!(again, first);
    assert_eq!(
        hub.requests().len(),
        asked,
        "a pinned, cached preset needs no network"
    );
}

#[test]
fn pull_reports_each_download_once_and_nothing_when_cached() {
    let (hub, preset) = default_preset_hub();
    let cache = tempfile::tempdir().expect("tempdir");
    let s = settings(&hub, cache.path());
    let mut progress = Recorded::default();
    let files = pull(&preset.name, &s, &mut progress).expect("pulls");

    let mut names: Vec<&str> = progress
        .inits
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    names.dedup();
    assert_eq!(
        names,
        [
            "tokenizer.json",
            "tokenizer_config.json",
            "generation_config.json",
            "Qwen3-1.7B-Q4_K_M.gguf"
        ]
    );
    assert!(progress
        .inits
        .contains(&("Qwen3-1.7B-Q4_K_M.gguf".to_string(), GGUF.len())));
    let on_disk: usize = files
        .paths()
        .iter()
        .map(|path| std::fs::metadata(path).expect("exists").len() as usize)
        .sum();
    assert_eq!(progress.bytes, on_disk);
    assert_eq!(progress.finishes, 4);

    let mut quiet = Recorded::default();
    pull(&preset.name, &s, &mut quiet).expect("cached");
    assert!(quiet.inits.is_empty() && quiet.bytes == 0);
}

#[test]
fn cache_status_follows_downloads() {
    let (hub, preset) = default_preset_hub();
    let cache = tempfile::tempdir().expect("tempdir");
    let s = settings(&hub, cache.path());
    let rows = list_presets(&s).expect("registry");
    assert!(rows.iter().all(|row| row.state == CacheState::Missing));

    let files = resolve(&ModelSpec::Preset(preset), &s).expect("downloads");
    let bytes: u64 = files
        .paths()
        .iter()
        .map(|path| std::fs::metadata(path).expect("exists").len())
        .sum();
    let expected = CacheState::Complete {
        bytes,
        revision: Some(preset.revision.clone()),
    };
    assert_eq!(cache_status(preset, &s), expected);

    // Losing the weights leaves the tokenizer: the preset is no longer complete.
    let gguf: PathBuf = files.weights.paths()[0].clone();
    let blob = std::fs::canonicalize(&gguf).expect("blob");
    std::fs::remove_file(&blob).expect("remove blob");
    assert_eq!(cache_status(preset, &s), CacheState::Missing);
    let others = list_presets(&s).expect("registry");
    let bf16 = others
        .iter()
        .find(|row| row.preset.name == "qwen3-1.7b-bf16")
        .expect("row");
    assert!(
        matches!(bf16.state, CacheState::Partial { .. }),
        "{:?}",
        bf16.state
    );
}

#[test]
fn tokenizer_only_resolution_leaves_the_gguf_on_the_hub() {
    let (hub, preset) = default_preset_hub();
    let cache = tempfile::tempdir().expect("tempdir");
    let files = saar::model::resolve_tokenizer(
        &ModelSpec::Preset(preset),
        &settings(&hub, cache.path()),
        &mut (),
    )
    .expect("resolves");
    assert_eq!(files.weights, Weights::Safetensors(Vec::new()));
    assert!(files.tokenizer.as_ref().is_some_and(|path| path.is_file()));
    let asked: Vec<String> = hub.requests().into_iter().map(|seen| seen.url).collect();
    assert!(
        asked.iter().any(|url| url.ends_with("tokenizer.json")),
        "{asked:?}"
    );
    assert!(!asked.iter().any(|url| url.contains(".gguf")), "{asked:?}");
}

/// The four IndicTrans2 presets, each served by the stand-in hub from the tiny
/// fixture model under the preset's own repository id, gated as the hub gates them:
/// `saar translate -m PRESET` resolves, downloads, loads and translates; without a
/// token the one-line error says what to do.
#[test]
fn indictrans2_presets_resolve_load_and_translate_through_the_cli() {
    const TOKEN: &str = "hf_test_token";
    let fixture = std::path::Path::new("tests/fixtures/indictrans/tiny");
    let names = [
        "config.json",
        "generation_config.json",
        "tokenizer_config.json",
        "model.SRC",
        "model.TGT",
        "dict.SRC.json",
        "dict.TGT.json",
        "model.safetensors",
    ];
    let bytes: Vec<(&str, Vec<u8>)> = names
        .iter()
        .map(|name| (*name, std::fs::read(fixture.join(name)).unwrap()))
        .collect();
    let files: Vec<(&str, &[u8])> = bytes.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let sha = "3333333333333333333333333333333333333333";
    let presets = [
        ("indictrans2-hi-en", "आज दिल्ली में बारिश हुई।"),
        ("indictrans2-hi-en-1b", "आज दिल्ली में बारिश हुई।"),
        ("indictrans2-en-hi", "It rained in Delhi today."),
        ("indictrans2-en-hi-1b", "It rained in Delhi today."),
    ];
    for (name, text) in presets {
        let preset = find_preset(name).unwrap().expect("preset");
        assert!(preset.gated, "{name}");
        let repo = FakeRepo::new()
            .commit(sha, Some(&preset.revision), &files)
            .gated(TOKEN);
        let hub = FakeHub::start(vec![(&preset.repo, repo)]);
        let cache = tempfile::tempdir().unwrap();
        let translate = |token: Option<&str>| {
            let saar = std::path::Path::new(env!("CARGO_BIN_EXE_saar"));
            let mut command = super::support::isolated(saar, cache.path());
            command
                .args(["translate", "-m", name, "-", "--format", "json"])
                .args(["--max-new-tokens", "4"])
                .env("HF_ENDPOINT", &hub.endpoint)
                .env_remove("HF_TOKEN_PATH");
            match token {
                Some(token) => command.env("HF_TOKEN", token),
                None => command.env_remove("HF_TOKEN"),
            };
            super::support::run_with_stdin(command, text.as_bytes())
        };

        let refused = translate(None);
        let err = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(1), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(
            err.contains("HF_TOKEN") && err.contains(&preset.repo),
            "{name}: {err}"
        );

        let done = translate(Some(TOKEN));
        let err = String::from_utf8_lossy(&done.stderr);
        assert!(done.status.success(), "{name}: {err}");
        let record: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
        assert_eq!(record["model"], name, "{record}");
        assert_eq!(record["architecture"], "indictrans2", "{record}");
        assert!(record["generated_tokens"].as_u64().unwrap() > 0, "{record}");
    }
}

/// A GGUF preset without `tokenizer_repo` (gemma-3-4b: Google's own repository is
/// gated) asks only its own repository: the `.gguf` is all it downloads, and the
/// tokenizer is left to the file's metadata.
#[test]
fn a_gguf_preset_without_a_tokenizer_repo_downloads_the_file_alone() {
    let preset = find_preset("gemma-3-4b").unwrap().expect("preset");
    assert!(!preset.gated && preset.tokenizer_repo.is_none());
    let gguf = preset.gguf.as_deref().expect("a GGUF preset");
    let repo = FakeRepo::new().commit(
        "4444444444444444444444444444444444444444",
        Some(&preset.revision),
        &[(gguf, GGUF)],
    );
    let hub = FakeHub::start(vec![(&preset.repo, repo)]);
    let cache = tempfile::tempdir().unwrap();
    let spec = ModelSpec::parse("gemma-3-4b").unwrap();
    let files = resolve(&spec, &settings(&hub, cache.path())).expect("resolves");
    match &files.weights {
        Weights::Gguf(path) => assert_eq!(std::fs::read(path).unwrap(), GGUF),
        other => panic!("expected the GGUF, got {other:?}"),
    }
    assert!(files.tokenizer.is_none() && files.tokenizer_config.is_none());
    assert!(hub
        .requests()
        .iter()
        .all(|seen| seen.url.contains(&preset.repo)));
}

/// `saar models …` against the cache at `cache`, with no hub to reach.
fn saar_models(cache: &std::path::Path, args: &[&str]) -> std::process::Output {
    let saar = std::path::Path::new(env!("CARGO_BIN_EXE_saar"));
    let mut command = super::support::isolated(saar, cache);
    command.arg("models").args(args).env("HF_HUB_OFFLINE", "1");
    super::support::run_with_stdin(command, b"")
}

fn listed(cache: &std::path::Path) -> serde_json::Value {
    let out = saar_models(cache, &["--format", "json"]);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn cached(list: &serde_json::Value, name: &str) -> String {
    let presets = list["presets"].as_array().expect("presets");
    let row = presets.iter().find(|p| p["name"] == name).expect("row");
    row["cached"].as_str().expect("cached").to_string()
}

#[test]
fn models_lists_as_json_and_rm_deletes_only_the_weights_repo() {
    let (hub, preset) = default_preset_hub();
    let cache = tempfile::tempdir().expect("tempdir");
    resolve(&ModelSpec::Preset(preset), &settings(&hub, cache.path())).expect("downloads");
    drop(hub);

    let before = listed(cache.path());
    assert_eq!(before["hf_cache"], cache.path().to_str().unwrap());
    assert_eq!(cached(&before, &preset.name), "yes");
    // Its tokenizer repo is the bf16 preset's weights repo.
    assert_eq!(cached(&before, "qwen3-1.7b-bf16"), "partly");
    let default = before["presets"].as_array().unwrap().iter();
    let defaults: Vec<_> = default.filter(|p| p["default"] == true).collect();
    assert_eq!(defaults.len(), 1);

    let out = saar_models(cache.path(), &["rm", &preset.name]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains(&preset.repo), "{stdout}");
    assert!(!cache
        .path()
        .join("models--unsloth--Qwen3-1.7B-GGUF")
        .exists());
    assert!(cache.path().join("models--Qwen--Qwen3-1.7B").is_dir());
    let after = listed(cache.path());
    assert_eq!(cached(&after, &preset.name), "no");
    assert_eq!(cached(&after, "qwen3-1.7b-bf16"), "partly");

    // Nothing left to remove, and a local path: one line each, exit 1.
    let local = cache.path().to_str().unwrap().to_string();
    for name in [preset.name.as_str(), "acme/never-pulled", local.as_str()] {
        let out = saar_models(cache.path(), &["rm", name]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("cannot remove"), "{stderr}");
    }
    assert!(cache.path().is_dir(), "a local path is never deleted");
}
