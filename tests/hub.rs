//! Resolving models through a stand-in hub (tests/hub/fake_hub.rs) reached via the
//! endpoint setting: downloads land in the standard HF cache layout, revisions pin,
//! the weight fallback holds, offline mode reuses the cache, tokens and gated repos
//! behave, and HF_HOME / HF_HUB_CACHE are honoured. Every test has its own server
//! and cache; nothing touches the process environment.

#[path = "hub/fake_hub.rs"]
mod fake_hub;
#[path = "hub/presets.rs"]
mod presets;
#[path = "hub/raw_server.rs"]
mod raw_server;
#[path = "cli/support.rs"]
#[allow(dead_code)] // the CLI tests' helpers, of which the preset tests use two
mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use fake_hub::{FakeHub, FakeRepo};
use raw_server::{Behaviour, RawServer};
use saar::model::{resolve, HubSettings, ModelError, ModelFiles, ModelSpec, NetPolicy, Weights};
use sha2::{Digest, Sha256};

const MAIN: &str = "1111111111111111111111111111111111111111";
const V1: &str = "2222222222222222222222222222222222222222";

const CONFIG: &[u8] = br#"{"model_type": "qwen3", "hidden_size": 8}"#;
const TOKENIZER: &[u8] = br#"{"model": {"type": "BPE"}}"#;
const TOKENIZER_CONFIG: &[u8] = br#"{"eos_token": "<|im_end|>"}"#;
const WEIGHTS: &[u8] = b"fake safetensors bytes";

fn settings(hub: &FakeHub, cache: &Path) -> HubSettings {
    settings_for(&hub.endpoint, cache)
}

/// Retries without pauses, so a test never waits on a backoff.
fn settings_for(endpoint: &str, cache: &Path) -> HubSettings {
    HubSettings {
        cache_dir: cache.to_path_buf(),
        endpoint: endpoint.to_string(),
        token: None,
        offline: false,
        net: NetPolicy::new(Duration::from_secs(10), 3, Duration::ZERO),
    }
}

fn spec(value: &str) -> ModelSpec {
    ModelSpec::parse(value).expect("valid spec")
}

fn tiny_repo() -> FakeRepo {
    FakeRepo::new().commit(
        MAIN,
        Some("main"),
        &[
            ("config.json", CONFIG),
            ("tokenizer.json", TOKENIZER),
            ("tokenizer_config.json", TOKENIZER_CONFIG),
            ("model.safetensors", WEIGHTS),
            ("README.md", b"not fetched"),
        ],
    )
}

fn single_weights(files: &ModelFiles) -> &Path {
    match &files.weights {
        Weights::Safetensors(shards) if shards.len() == 1 => &shards[0],
        other => panic!("expected one safetensors file, got {other:?}"),
    }
}

#[test]
fn hub_id_lands_in_the_standard_cache_layout() {
    let hub = FakeHub::start(vec![("acme/tiny", tiny_repo())]);
    let cache = tempfile::tempdir().expect("tempdir");
    let files = resolve(&spec("acme/tiny"), &settings(&hub, cache.path())).expect("resolves");

    let repo_dir = cache.path().join("models--acme--tiny");
    let snapshot = repo_dir.join("snapshots").join(MAIN);
    assert_eq!(files.repo.as_deref(), Some("acme/tiny"));
    assert_eq!(files.revision.as_deref(), Some(MAIN));
    assert_eq!(single_weights(&files), snapshot.join("model.safetensors"));
    assert_eq!(files.config, Some(snapshot.join("config.json")));
    assert_eq!(files.tokenizer, Some(snapshot.join("tokenizer.json")));
    assert_eq!(
        files.tokenizer_config,
        Some(snapshot.join("tokenizer_config.json"))
    );
    assert_eq!(
        (files.generation_config.clone(), files.chat_template.clone()),
        (None, None)
    );
    assert_eq!(
        std::fs::read(single_weights(&files)).expect("read"),
        WEIGHTS
    );
    let blob = repo_dir
        .join("blobs")
        .join(format!("{:x}", Sha256::digest(WEIGHTS)));
    assert_eq!(std::fs::read(&blob).expect("blob exists"), WEIGHTS);
    #[cfg(unix)]
    assert!(
        std::fs::symlink_metadata(snapshot.join("model.safetensors"))
            .expect("pointer")
            .file_type()
            .is_symlink()
    );
    let main_ref = std::fs::read_to_string(repo_dir.join("refs/main")).expect("refs/main");
    assert_eq!(main_ref.trim(), MAIN);
    // Python's layout has no ref named after a commit; hf-hub's stray one is removed.
    assert!(!repo_dir.join("refs").join(MAIN).exists());
    assert!(
        !snapshot.join("README.md").exists(),
        "only model files are fetched"
    );
}

#[test]
fn revision_pins_by_tag_and_by_commit() {
    let repo = tiny_repo().commit(
        V1,
        Some("v1"),
        &[
            ("config.json", b"{\"v\": 1}"),
            ("model.safetensors", b"old weights"),
        ],
    );
    let hub = FakeHub::start(vec![("acme/tiny", repo)]);
    let cache = tempfile::tempdir().expect("tempdir");
    let s = settings(&hub, cache.path());

    let tagged = resolve(&spec("acme/tiny@v1"), &s).expect("tag resolves");
    assert_eq!(tagged.revision.as_deref(), Some(V1));
    assert_eq!(
        std::fs::read(single_weights(&tagged)).expect("read"),
        b"old weights"
    );
    assert_eq!(tagged.tokenizer, None, "v1 has no tokenizer.json");
    let v1_ref = cache.path().join("models--acme--tiny/refs/v1");
    assert_eq!(std::fs::read_to_string(v1_ref).expect("refs/v1").trim(), V1);

    let by_commit = resolve(&spec(&format!("acme/tiny@{V1}")), &s).expect("sha resolves");
    assert_eq!(by_commit.weights, tagged.weights);
    let latest = resolve(&spec("acme/tiny"), &s).expect("main resolves");
    assert_eq!(
        std::fs::read(single_weights(&latest)).expect("read"),
        WEIGHTS
    );
}

#[test]
fn sharded_index_wins_and_lists_shards_in_order() {
    let index = br#"{"metadata": {}, "weight_map": {
        "lm_head.weight": "model-00002-of-00002.safetensors",
        "embed.weight": "model-00001-of-00002.safetensors",
        "norm.weight": "model-00002-of-00002.safetensors"}}"#;
    let repo = FakeRepo::new().commit(
        MAIN,
        Some("main"),
        &[
            ("config.json", CONFIG),
            ("model.safetensors.index.json", index),
            ("model-00001-of-00002.safetensors", b"shard one"),
            ("model-00002-of-00002.safetensors", b"shard two"),
            ("pytorch_model.bin", b"legacy"),
        ],
    );
    let hub = FakeHub::start(vec![("acme/sharded", repo)]);
    let cache = tempfile::tempdir().expect("tempdir");
    let files = resolve(&spec("acme/sharded"), &settings(&hub, cache.path())).expect("resolves");
    let snapshot = cache
        .path()
        .join("models--acme--sharded/snapshots")
        .join(MAIN);
    let expected = vec![
        snapshot.join("model-00001-of-00002.safetensors"),
        snapshot.join("model-00002-of-00002.safetensors"),
    ];
    assert_eq!(files.weights, Weights::Safetensors(expected));
    assert!(
        !snapshot.join("pytorch_model.bin").exists(),
        "the .bin is not fetched"
    );
}

#[test]
fn pytorch_bin_is_the_last_fallback_and_absence_is_explained() {
    let with_bin = FakeRepo::new().commit(
        MAIN,
        Some("main"),
        &[("config.json", CONFIG), ("pytorch_model.bin", b"pickle")],
    );
    let without = FakeRepo::new().commit(MAIN, Some("main"), &[("config.json", CONFIG)]);
    let hub = FakeHub::start(vec![("acme/bin", with_bin), ("acme/empty", without)]);
    let cache = tempfile::tempdir().expect("tempdir");
    let s = settings(&hub, cache.path());

    let files = resolve(&spec("acme/bin"), &s).expect("resolves");
    let snapshot = cache.path().join("models--acme--bin/snapshots").join(MAIN);
    assert_eq!(
        files.weights,
        Weights::PytorchBin(snapshot.join("pytorch_model.bin"))
    );

    let err = resolve(&spec("acme/empty"), &s).unwrap_err();
    assert!(matches!(err, ModelError::NoWeights { .. }), "{err}");
    let message = err.to_string();
    for looked_for in [
        "model.safetensors.index.json",
        "model.safetensors",
        "pytorch_model.bin",
    ] {
        assert!(message.contains(looked_for), "{message}");
    }
}

/// A Marian repo as Helsinki-NLP publishes them: no tokenizer.json, two SentencePiece
/// models and a vocabulary instead.
fn marian_repo() -> FakeRepo {
    FakeRepo::new().commit(
        MAIN,
        Some("main"),
        &[
            ("config.json", br#"{"model_type": "marian"}"#),
            ("pytorch_model.bin", b"pickle"),
            ("source.spm", b"spm source"),
            ("target.spm", b"spm target"),
            ("vocab.json", br#"{"<pad>": 0}"#),
            ("tokenizer_config.json", b"{}"),
            ("generation_config.json", b"{}"),
        ],
    )
}

#[test]
fn marian_vocabulary_files_land_in_other() {
    let hub = FakeHub::start(vec![("Helsinki-NLP/opus-mt-hi-en", marian_repo())]);
    let cache = tempfile::tempdir().expect("tempdir");
    let s = settings(&hub, cache.path());
    let files = resolve(&spec("opus-mt-hi-en"), &s).expect("preset resolves");
    let names: Vec<&str> = files.other.keys().map(String::as_str).collect();
    assert_eq!(names, ["source.spm", "target.spm", "vocab.json"]);
    assert_eq!(
        std::fs::read(&files.other["target.spm"]).expect("read"),
        b"spm target"
    );
    assert_eq!(files.context_length, Some(512));
    assert!(files.generation_config.is_some() && files.tokenizer.is_none());
}

#[test]
fn tokenizer_only_resolution_skips_the_weights() {
    let hub = FakeHub::start(vec![("acme/tiny", tiny_repo()), ("acme/mt", marian_repo())]);
    let cache = tempfile::tempdir().expect("tempdir");
    let s = settings(&hub, cache.path());
    let llm = saar::model::resolve_tokenizer(&spec("acme/tiny"), &s, &mut ()).expect("llm");
    assert!(llm.tokenizer.is_some() && llm.config.is_some());
    let mt = saar::model::resolve_tokenizer(&spec("acme/mt"), &s, &mut ()).expect("marian");
    assert_eq!(mt.other.len(), 3);
    for files in [&llm, &mt] {
        assert_eq!(files.weights, Weights::Safetensors(Vec::new()));
    }
    let asked: Vec<String> = hub.requests().into_iter().map(|seen| seen.url).collect();
    assert!(
        asked.iter().any(|url| url.ends_with("vocab.json")),
        "{asked:?}"
    );
    for weights in ["model.safetensors", "pytorch_model.bin"] {
        assert!(!asked.iter().any(|url| url.ends_with(weights)), "{asked:?}");
    }
    // The full model still downloads afterwards, into the same snapshot.
    let full = resolve(&spec("acme/tiny"), &s).expect("full");
    assert_eq!(full.tokenizer, llm.tokenizer);
    assert_eq!(std::fs::read(single_weights(&full)).expect("read"), WEIGHTS);
}

#[test]
fn a_download_that_breaks_off_is_retried() {
    let hub = FakeHub::start(vec![(
        "acme/tiny",
        tiny_repo().flaky("model.safetensors", 2),
    )]);
    let cache = tempfile::tempdir().expect("tempdir");
    let files = resolve(&spec("acme/tiny"), &settings(&hub, cache.path())).expect("retried");
    assert_eq!(
        std::fs::read(single_weights(&files)).expect("read"),
        WEIGHTS
    );
    let tries = hub
        .requests()
        .iter()
        .filter(|seen| seen.url.ends_with("/model.safetensors"))
        .count();
    // One size probe, two failures, one success.
    assert_eq!(tries, 4);
}

#[test]
fn a_hub_that_answers_500_twice_is_asked_again() {
    let repo = tiny_repo().flaky_info(2).flaky("model.safetensors", 2);
    let hub = FakeHub::start(vec![("acme/tiny", repo)]);
    let cache = tempfile::tempdir().expect("tempdir");
    let files = resolve(&spec("acme/tiny"), &settings(&hub, cache.path())).expect("retried");
    assert_eq!(files.revision.as_deref(), Some(MAIN));
    assert_eq!(
        std::fs::read(single_weights(&files)).expect("read"),
        WEIGHTS
    );
    let info_asks = hub
        .requests()
        .iter()
        .filter(|seen| seen.url.starts_with("/api/models/"))
        .count();
    assert_eq!(info_asks, 3, "two 500s, then the answer");
}

#[test]
fn a_hub_that_keeps_failing_gives_up_naming_the_host() {
    let hub = FakeHub::start(vec![("acme/tiny", tiny_repo().flaky_info(100))]);
    let cache = tempfile::tempdir().expect("tempdir");
    let s = HubSettings {
        net: NetPolicy::new(Duration::from_secs(10), 2, Duration::ZERO),
        ..settings(&hub, cache.path())
    };
    let err = resolve(&spec("acme/tiny"), &s).unwrap_err();
    assert!(matches!(err, ModelError::HubUnavailable { .. }), "{err}");
    let message = err.to_string();
    let host = hub.endpoint.trim_start_matches("http://");
    for needle in [host, "3 tries", "HTTP 500", "SAAR_HTTP_TIMEOUT"] {
        assert!(message.contains(needle), "{needle} missing: {message}");
    }
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn a_hub_that_never_answers_times_out_naming_the_host() {
    let silent = RawServer::start(Behaviour::Silent);
    let cache = tempfile::tempdir().expect("tempdir");
    let s = HubSettings {
        net: NetPolicy::new(Duration::from_millis(300), 1, Duration::ZERO),
        ..settings_for(&silent.endpoint, cache.path())
    };
    let started = Instant::now();
    let err = resolve(&spec("acme/tiny"), &s).unwrap_err();
    // Two tries of 0.3 s; the bound only catches a hang, it is not a wait.
    assert!(started.elapsed() < Duration::from_secs(30), "{err}");
    let message = err.to_string();
    let host = silent.endpoint.trim_start_matches("http://");
    for needle in [host, "2 tries", "no answer within 0.3 s"] {
        assert!(message.contains(needle), "{needle} missing: {message}");
    }
}

#[test]
fn the_cli_gives_up_on_a_silent_hub_with_one_line() {
    let silent = RawServer::start(Behaviour::Silent);
    let cache = tempfile::tempdir().expect("tempdir");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_saar"))
        .args([
            "summarize",
            "-m",
            "acme/tiny",
            "examples/articles/nagpur-metro.txt",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HF_HUB_CACHE", cache.path())
        .env("HF_HOME", cache.path())
        .env("HF_ENDPOINT", &silent.endpoint)
        .env("SAAR_HTTP_TIMEOUT", "0.3")
        .env("SAAR_HTTP_RETRIES", "1")
        .env("SAAR_HTTP_BACKOFF", "0")
        .env_remove("HF_HUB_OFFLINE")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run saar");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    let host = silent.endpoint.trim_start_matches("http://");
    assert!(
        stderr.contains(host) && stderr.contains("2 tries"),
        "{stderr}"
    );

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_saar"))
        .args(["models", "pull", "acme/tiny"])
        .env("HF_HUB_CACHE", cache.path())
        .env("HF_ENDPOINT", &silent.endpoint)
        .env("SAAR_HTTP_TIMEOUT", "soon")
        .output()
        .expect("run saar");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("SAAR_HTTP_TIMEOUT=soon"), "{stderr}");
}

#[test]
fn a_download_cut_off_mid_file_resumes_where_it_stopped() {
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let cdn = RawServer::start(Behaviour::Cdn {
        bytes: bytes.clone(),
        drops: 2,
    });
    let repo = FakeRepo::new()
        .commit(
            MAIN,
            Some("main"),
            &[("config.json", CONFIG), ("model.safetensors", &bytes)],
        )
        .on_cdn("model.safetensors", &format!("{}/blob", cdn.endpoint));
    let hub = FakeHub::start(vec![("acme/big", repo)]);
    let cache = tempfile::tempdir().expect("tempdir");
    let files = resolve(&spec("acme/big"), &settings(&hub, cache.path())).expect("resumed");
    assert_eq!(std::fs::read(single_weights(&files)).expect("read"), bytes);
    // Each try asks for the bytes after those already on disk (each cut-off try
    // delivered half of what it was asked for).
    let (half, three_quarters) = (bytes.len() / 2, bytes.len() * 3 / 4);
    assert_eq!(
        cdn.ranges(),
        [
            "bytes=0-".to_string(),
            format!("bytes={half}-"),
            format!("bytes={three_quarters}-"),
        ]
    );
    let blobs = cache.path().join("models--acme--big/blobs");
    let leftovers: Vec<_> = std::fs::read_dir(&blobs)
        .expect("blobs")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_partial_file_left_by_an_earlier_run_is_resumed() {
    let hub = FakeHub::start(vec![("acme/tiny", tiny_repo())]);
    let cache = tempfile::tempdir().expect("tempdir");
    let blobs = cache.path().join("models--acme--tiny/blobs");
    std::fs::create_dir_all(&blobs).expect("mkdir");
    let etag = format!("{:x}", Sha256::digest(WEIGHTS));
    std::fs::write(blobs.join(format!("{etag}.part")), &WEIGHTS[..5]).expect("part");
    let files = resolve(&spec("acme/tiny"), &settings(&hub, cache.path())).expect("resumed");
    assert_eq!(
        std::fs::read(single_weights(&files)).expect("read"),
        WEIGHTS
    );
    let ranges: Vec<Option<String>> = hub
        .requests()
        .into_iter()
        .filter(|seen| seen.url.ends_with("/model.safetensors"))
        .map(|seen| seen.range)
        .collect();
    // The size probe, then one request for the rest.
    assert_eq!(
        ranges,
        [Some("bytes=0-0".to_string()), Some("bytes=5-".to_string())]
    );
}

#[test]
fn offline_reuses_the_cache_without_network() {
    let hub = FakeHub::start(vec![("acme/tiny", tiny_repo())]);
    let cache = tempfile::tempdir().expect("tempdir");
    let online = settings(&hub, cache.path());
    let downloaded = resolve(&spec("acme/tiny"), &online).expect("online");
    let asked = hub.requests().len();

    let offline = online.offline();
    assert_eq!(
        resolve(&spec("acme/tiny"), &offline).expect("offline"),
        downloaded
    );
    assert_eq!(
        hub.requests().len(),
        asked,
        "offline mode must not touch the hub"
    );

    drop(hub);
    assert_eq!(
        resolve(&spec("acme/tiny"), &offline).expect("offline"),
        downloaded
    );
    // Online but unreachable: the complete cached copy is used, as huggingface_hub does.
    assert_eq!(
        resolve(&spec("acme/tiny"), &online).expect("fallback"),
        downloaded
    );
}

#[test]
fn offline_with_nothing_cached_says_how_to_fix_it() {
    let cache = tempfile::tempdir().expect("tempdir");
    let s = HubSettings {
        offline: true,
        ..settings_for("http://127.0.0.1:9", cache.path())
    };
    let err = resolve(&spec("acme/tiny"), &s).unwrap_err();
    assert!(matches!(err, ModelError::NotCached { .. }), "{err}");
    let message = err.to_string();
    let cache_dir = cache.path().display().to_string();
    for needle in [
        cache_dir.as_str(),
        "saar models pull acme/tiny",
        "HF_HUB_OFFLINE",
        "--offline",
    ] {
        assert!(message.contains(needle), "{needle} missing: {message}");
    }
}

#[test]
fn unreachable_hub_with_empty_cache_names_the_endpoint() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let cache = tempfile::tempdir().expect("tempdir");
    let endpoint = format!("http://127.0.0.1:{port}");
    let s = settings_for(&endpoint, cache.path());
    let err = resolve(&spec("acme/tiny"), &s).unwrap_err();
    assert!(matches!(err, ModelError::Network { .. }), "{err}");
    assert!(err.to_string().contains(&endpoint), "{err}");
}

#[test]
fn token_is_sent_as_bearer_and_unlocks_gated_repos() {
    let hub = FakeHub::start(vec![("acme/gated", tiny_repo().gated("hf_secret"))]);
    let cache = tempfile::tempdir().expect("tempdir");
    let anonymous = settings(&hub, cache.path());

    let err = resolve(&spec("acme/gated"), &anonymous).unwrap_err();
    assert!(
        matches!(err, ModelError::Gated { status: 401, .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.contains("HF_TOKEN"), "{message}");
    assert!(
        message.contains(&format!("{}/acme/gated", hub.endpoint)),
        "{message}"
    );

    let with_token = HubSettings {
        token: Some("hf_secret".to_string()),
        ..anonymous
    };
    let before = hub.requests().len();
    resolve(&spec("acme/gated"), &with_token).expect("token unlocks");
    let after = hub.requests();
    assert!(after.len() > before);
    for seen in &after[before..] {
        assert_eq!(
            seen.authorization.as_deref(),
            Some("Bearer hf_secret"),
            "{}",
            seen.url
        );
    }
}

#[test]
fn missing_repo_and_revision_are_told_apart() {
    let hub = FakeHub::start(vec![("acme/tiny", tiny_repo())]);
    let cache = tempfile::tempdir().expect("tempdir");
    let s = settings(&hub, cache.path());
    let err = resolve(&spec("acme/nothing"), &s).unwrap_err();
    assert!(matches!(err, ModelError::RepoNotFound { .. }), "{err}");
    let err = resolve(&spec("acme/tiny@v9"), &s).unwrap_err();
    assert!(matches!(err, ModelError::RevisionNotFound { .. }), "{err}");
    assert!(err.to_string().contains("v9"));
}

#[test]
fn hf_home_and_hf_hub_cache_decide_where_files_land() {
    let hub = FakeHub::start(vec![("acme/gated", tiny_repo().gated("hf_from_file"))]);
    let root = tempfile::tempdir().expect("tempdir");
    let hf_home = root.path().join("hf-home");
    std::fs::create_dir_all(&hf_home).expect("mkdir");
    std::fs::write(hf_home.join("token"), "hf_from_file\n").expect("token file");
    let vars = |extra: &[(&str, PathBuf)]| {
        let mut map: HashMap<String, String> = HashMap::new();
        map.insert("HF_HOME".into(), hf_home.display().to_string());
        map.insert("HF_ENDPOINT".into(), format!("{}/", hub.endpoint));
        map.insert(
            "HOME".into(),
            root.path().join("home").display().to_string(),
        );
        for (key, value) in extra {
            map.insert(key.to_string(), value.display().to_string());
        }
        HubSettings::from_lookup(move |key| map.get(key).cloned())
    };

    let under_home = resolve(&spec("acme/gated"), &vars(&[])).expect("token file works");
    assert!(single_weights(&under_home).starts_with(hf_home.join("hub/models--acme--gated")));

    let hub_cache = root.path().join("elsewhere");
    let moved = vars(&[("HF_HUB_CACHE", hub_cache.clone())]);
    let under_cache = resolve(&spec("acme/gated"), &moved).expect("resolves");
    assert!(single_weights(&under_cache).starts_with(hub_cache.join("models--acme--gated")));
    assert!(!root.path().join("home/.cache").exists());
}

#[test]
fn local_directory_uses_the_same_fallback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = br#"{"weight_map": {"a": "part-2.safetensors", "b": "part-1.safetensors"}}"#;
    std::fs::write(dir.path().join("model.safetensors.index.json"), index).expect("write");
    std::fs::write(dir.path().join("part-1.safetensors"), b"1").expect("write");
    std::fs::write(dir.path().join("config.json"), CONFIG).expect("write");
    let local = spec(dir.path().to_str().expect("utf-8"));
    let offline = HubSettings::from_lookup(|_| None).offline();

    let err = resolve(&local, &offline).unwrap_err();
    assert!(
        matches!(err, ModelError::MissingFile { ref file, .. } if file == "part-2.safetensors")
    );
    std::fs::write(dir.path().join("part-2.safetensors"), b"2").expect("write");
    let files = resolve(&local, &offline).expect("resolves");
    let expected = vec![
        dir.path().join("part-1.safetensors"),
        dir.path().join("part-2.safetensors"),
    ];
    assert_eq!(files.weights, Weights::Safetensors(expected));
    assert_eq!(files.config, Some(dir.path().join("config.json")));
    assert_eq!(files.repo, None);
    // A local model's revision is a fingerprint of its files: overwriting a shard
    // changes it, reading the folder again does not.
    let revision = files.revision.clone().expect("fingerprint");
    assert!(revision.starts_with("local-"), "{revision}");
    let again = resolve(&local, &offline).expect("resolves");
    assert_eq!(again.revision.as_deref(), Some(revision.as_str()));
    std::fs::write(dir.path().join("part-2.safetensors"), b"3").expect("overwrite");
    let changed = resolve(&local, &offline).expect("resolves");
    assert_ne!(changed.revision.as_deref(), Some(revision.as_str()));
}

#[test]
fn local_gguf_takes_tokenizer_files_beside_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gguf = dir.path().join("tiny-Q4_K_M.gguf");
    std::fs::write(&gguf, b"GGUF").expect("write");
    std::fs::write(dir.path().join("config.json"), CONFIG).expect("write");
    let offline = HubSettings::from_lookup(|_| None).offline();
    let bare = resolve(&spec(gguf.to_str().expect("utf-8")), &offline).expect("resolves");
    assert_eq!(
        (bare.weights.clone(), bare.tokenizer.clone()),
        (Weights::Gguf(gguf.clone()), None)
    );
    assert_eq!(bare.config, None, "a GGUF carries its own config");

    std::fs::write(dir.path().join("tokenizer.json"), TOKENIZER).expect("write");
    std::fs::write(dir.path().join("tokenizer_config.json"), TOKENIZER_CONFIG).expect("write");
    let files = resolve(&spec(gguf.to_str().expect("utf-8")), &offline).expect("resolves");
    assert_eq!(files.tokenizer, Some(dir.path().join("tokenizer.json")));
    assert_eq!(
        files.tokenizer_config,
        Some(dir.path().join("tokenizer_config.json"))
    );
}
