//! End to end for the raw-text commands: `saar tokenize` (tokenizer only, a vocab-only
//! GGUF works) and `saar generate` (no chat template, the tokenizer's BOS rule), a
//! chat task on a model without a chat template, `--chat-template FILE`, and errors
//! that stay one line under `RUST_BACKTRACE=1`.

#[path = "cli/support.rs"]
#[allow(dead_code)] // shared with cli.rs, which uses all of it
mod support;

use saar::model::tokenizer::ModelTokenizer;
use saar::model::{HubSettings, ModelSpec};
use saar::synth::{build_spm_tokenizer, write_vocab_gguf, Arch, Shape, SpmStyle};
use support::*;

const TEXT: &str = "सोमवार को <start_of_turn>नए अस्पताल का उद्घाटन हुआ, 2024 में  35%.\n";

fn load_tokenizer(model: &std::path::Path) -> ModelTokenizer {
    let spec = ModelSpec::parse(model.to_str().unwrap()).unwrap();
    let settings = HubSettings {
        offline: true,
        ..HubSettings::from_env()
    };
    ModelTokenizer::load(&saar::model::resolve(&spec, &settings).unwrap()).unwrap()
}

fn ids(output: &std::process::Output) -> Vec<u32> {
    assert!(output.status.success(), "{}", stderr(output));
    stdout(output)
        .split_whitespace()
        .map(|id| id.parse().unwrap())
        .collect()
}

#[test]
fn tokenize_prints_the_tokenizer_ids_with_and_without_added_specials() {
    let tmp = tempfile::tempdir().unwrap();
    // A vocab-only GGUF: no tensors, a SentencePiece vocabulary.
    let (reference, config) = build_spm_tokenizer(SpmStyle::Gemma).unwrap();
    let spec: serde_json::Value =
        serde_json::from_str(&reference.to_string(false).unwrap()).unwrap();
    let vocab = tmp.path().join("vocab.gguf");
    write_vocab_gguf(&spec, &config, None, &vocab).unwrap();
    let gguf = tiny_gguf(tmp.path(), Arch::Qwen3, &Shape::tiny(Arch::Qwen3));
    for model in [&vocab, &gguf] {
        let tok = load_tokenizer(model);
        let m = model.to_str().unwrap();
        let with = ids(&saar(
            &["tokenize", "-m", m, "-"],
            TEXT.as_bytes(),
            tmp.path(),
        ));
        assert_eq!(with, tok.encode(TEXT, true).unwrap());
        let without = saar(
            &["tokenize", "-m", m, "--no-special", "-"],
            TEXT.as_bytes(),
            tmp.path(),
        );
        assert_eq!(ids(&without), tok.encode(TEXT, false).unwrap());
        let record = json(&saar(
            &["tokenize", "-m", m, "--format", "json", "-"],
            TEXT.as_bytes(),
            tmp.path(),
        ));
        let pieces = record["pieces"].as_array().unwrap();
        // Several files: one line each, in order.
        let first = tmp.path().join("first.txt");
        std::fs::write(&first, "first").unwrap();
        let both = saar(
            &["tokenize", "-m", m, first.to_str().unwrap(), "-"],
            TEXT.as_bytes(),
            tmp.path(),
        );
        let lines: Vec<String> = stdout(&both).lines().map(str::to_string).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[1],
            stdout(&saar(
                &["tokenize", "-m", m, "-"],
                TEXT.as_bytes(),
                tmp.path()
            ))
            .trim_end()
        );
        assert_eq!(pieces.len(), with.len());
        assert_eq!(
            pieces[0].as_str(),
            tok.inner().id_to_token(with[0]).as_deref()
        );
    }
    // The Gemma vocabulary adds BOS; the tiny Qwen one does not.
    let tok = load_tokenizer(&vocab);
    assert_eq!(
        tok.encode(TEXT, true).unwrap()[0],
        tok.token_to_id("<bos>").unwrap()
    );
}

#[test]
fn generate_continues_raw_text_and_reports_its_ids() {
    let tmp = tempfile::tempdir().unwrap();
    for arch in [Arch::Gemma3, Arch::Qwen2] {
        let gguf = tiny_gguf(tmp.path(), arch, &Shape::tiny(arch));
        let m = gguf.to_str().unwrap();
        let tok = load_tokenizer(&gguf);
        let args = ["generate", "-m", m, "--max-new-tokens", "5", "-"];
        let record = json(&saar(
            &[&args[..], &["--format", "json"]].concat(),
            TEXT.as_bytes(),
            tmp.path(),
        ));
        let prompt: Vec<u32> = serde_json::from_value(record["prompt_ids"].clone()).unwrap();
        assert_eq!(prompt, tok.encode(TEXT, true).unwrap(), "{arch:?}");
        let output: Vec<u32> = serde_json::from_value(record["output_ids"].clone()).unwrap();
        assert!(!output.is_empty() && output.len() <= 5, "{output:?}");
        assert_eq!(record["output"], tok.decode(&output).unwrap());
        // Text mode streams the same continuation.
        let text = saar(&args, TEXT.as_bytes(), tmp.path());
        assert!(text.status.success(), "{}", stderr(&text));
        assert_eq!(
            stdout(&text),
            format!("{}\n", record["output"].as_str().unwrap())
        );
    }
}

#[test]
fn a_model_without_a_chat_template_points_to_generate_and_chat_template() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tiny_dir(tmp.path(), Arch::Qwen2, &Shape::tiny(Arch::Qwen2));
    let config_path = dir.join("tokenizer_config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    config.as_object_mut().unwrap().remove("chat_template");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let _ = std::fs::remove_file(dir.join("chat_template.jinja"));
    let m = dir.to_str().unwrap();
    let run = |extra: &[&str]| {
        let args = [
            &["summarize", "-m", m, "--max-new-tokens", "4"][..],
            extra,
            &[ARTICLE],
        ]
        .concat();
        saar(&args, b"", tmp.path())
    };
    assert_one_line_error(&run(&[]), "saar generate");
    assert_one_line_error(&run(&[]), "--chat-template FILE");
    let template = "tests/fixtures/chat_templates/qwen2.jinja";
    let with_template = run(&["--chat-template", template]);
    assert!(with_template.status.success(), "{}", stderr(&with_template));
}

#[test]
fn a_garbage_gguf_is_one_line_even_with_rust_backtrace() {
    let tmp = tempfile::tempdir().unwrap();
    let garbage = tmp.path().join("garbage.gguf");
    std::fs::write(&garbage, b"this is not a gguf file at all, just text").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_saar"))
        .args(["generate", "-m", garbage.to_str().unwrap(), ARTICLE])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_BACKTRACE", "1")
        .env("HF_HUB_CACHE", tmp.path())
        .env("HF_HOME", tmp.path())
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .env_remove("SAAR_MODEL")
        .output()
        .unwrap();
    assert_one_line_error(&output, "garbage.gguf");
}

/// The sentence the parity fixtures' chat strings ask about (make_llm_fixtures.py).
const FIXTURE_ARTICLE: [&str; 2] = [
    "पुस्तकालय अब रविवार को भी खुला रहेगा।",
    "बाजार में सब्जियों के दाम कम हुए हैं।",
];

/// `--prompts` files that make saar's messages those of a fixture chat string: the
/// system message (empty: none is sent), and the user message with the article
/// sentence as `{{ text }}` under both task names.
fn prompts_for_case(dir: &std::path::Path, case: &serde_json::Value) -> String {
    let messages = case["messages"].as_array().unwrap();
    let content = |role: &str| {
        (messages.iter())
            .find(|m| m["role"] == role)
            .map_or("", |m| m["content"].as_str().unwrap())
    };
    let user = content("user");
    let article = *FIXTURE_ARTICLE.iter().find(|a| user.contains(**a)).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("system.j2"), content("system")).unwrap();
    for task in ["summarize", "translate"] {
        let template = user.replace(article, "{{ text }}");
        std::fs::write(dir.join(format!("{task}.j2")), template).unwrap();
    }
    article.to_string()
}

/// Llama's template prints today's date where transformers printed the fixture's day:
/// the date must be one, and is then set to the fixture's.
fn with_fixture_date(text: &str, expected: &serde_json::Value) -> String {
    let today = regex::Regex::new(r"Today Date: \d{2} [A-Z][a-z]{2} \d{4}\n").unwrap();
    let day = expected["date_string"].as_str().unwrap();
    today
        .replace(text, format!("Today Date: {day}\n").as_str())
        .into_owned()
}

#[test]
fn show_prompt_prints_transformers_chat_string_and_reads_no_weights() {
    let tmp = tempfile::tempdir().unwrap();
    // saar trims what a task template renders; llama's and gemma's templates trim
    // message contents too, so only for them does `system_user` (whose user message
    // has outer spaces) come out byte for byte. `user_only` also checks that an empty
    // system.j2 sends no system message: qwen2's template then adds its default one.
    let cases = [
        ("qwen2", "user_only"),
        ("qwen3", "user_only"),
        ("llama", "user_only"),
        ("gemma3", "user_only"),
        ("llama", "system_user"),
        ("gemma3", "system_user"),
    ];
    for (family, name) in cases {
        let fixture = std::path::Path::new("tests/fixtures/parity").join(family);
        let expected: serde_json::Value = serde_json::from_slice(
            &std::fs::read(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(fixture.join("expected.json")),
            )
            .unwrap(),
        )
        .unwrap();
        let case = (expected["chat_strings"].as_array().unwrap())
            .iter()
            .find(|c| c["name"] == name)
            .unwrap();
        let prompts = tmp.path().join(format!("{family}-{name}"));
        let article = prompts_for_case(&prompts, case);
        for task in ["summarize", "translate"] {
            let args = [
                task,
                "-m",
                fixture.to_str().unwrap(),
                "--prompts",
                prompts.to_str().unwrap(),
                "--max-new-tokens",
                "8",
                "--show-prompt",
                "-",
            ];
            let output = saar(&args, article.as_bytes(), tmp.path());
            assert!(output.status.success(), "{}", stderr(&output));
            let shown = with_fixture_date(&stdout(&output), &expected);
            assert_eq!(
                shown,
                case["text"].as_str().unwrap(),
                "{family} {name} {task}"
            );
            let json = json(&saar(
                &[&args[..], &["--format", "json"]].concat(),
                article.as_bytes(),
                tmp.path(),
            ));
            if family != "llama" {
                // Llama's ids hold today's date.
                assert_eq!(json["prompt_ids"], case["ids"], "{family} {name} {task}");
            }
        }
    }
    // The prompt needs the tokenizer, templates and config, never the weights.
    let broken = tmp.path().join("broken-weights");
    std::fs::create_dir(&broken).unwrap();
    for entry in std::fs::read_dir("tests/fixtures/parity/qwen2").unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, broken.join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(broken.join("model.safetensors"), b"not weights").unwrap();
    let m = broken.to_str().unwrap();
    let prompts = tmp.path().join("qwen2-user_only");
    let prompts = prompts.to_str().unwrap();
    let args = [
        "summarize",
        "-m",
        m,
        "--prompts",
        prompts,
        "--max-new-tokens",
        "8",
        "-",
    ];
    let article = FIXTURE_ARTICLE[0].as_bytes();
    let shown = saar(
        &[&args[..], &["--show-prompt"]].concat(),
        article,
        tmp.path(),
    );
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert!(stdout(&shown).starts_with("<|im_start|>system\n"));
    assert_one_line_error(&saar(&args, article, tmp.path()), "model.safetensors");
}
