//! The one model API under every command: the JSON of `summarize`, `translate` and
//! `batch` is what it was before the commands went through it (records recorded from
//! the binary before the change, in `tests/fixtures/records/`), `--max-new-tokens`
//! reaches translation models, and a task a model cannot do is a typed one-line error.
//!
//! To record the fixtures again from some build of saar, run this test with
//! `SAAR_RECORDS_FROM=/path/to/that/saar`: the records it writes are then compared
//! with the current binary as always.

#[path = "cli/support.rs"]
#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use saar::synth::{Arch, Shape};
use serde_json::Value;
use support::*;

const SHORT_TEXT: &str = "मंत्रिमंडल ने परियोजना को मंजूरी दी।\n\nThe metro will open next year.\n";
const CORPUS: &str = concat!(
    r#"{"id": "a", "text": "नगर निगम ने नई बस सेवा शुरू की। पहले दिन 300 यात्री आए।"}"#,
    "\n",
    r#"{"id": "b", "text": "बारिश के कारण स्कूल दो दिन बंद रहेंगे।"}"#,
    "\n"
);

/// Fields that measure time or name a temporary path (the revision of a local model
/// is now a fingerprint of its files), and the batch settings, whose hash changed on
/// purpose (repeat_penalty as written, early_stopping as JSON). The LLM cases pass
/// `--repeat-penalty 1.1`, the default of the build that recorded them.
const VARYING: [&str; 9] = [
    "prefill_secs",
    "decode_secs",
    "prefill_tokens_per_sec",
    "decode_tokens_per_sec",
    "elapsed_secs",
    "model",
    "settings",
    "settings_hash",
    "revision",
];

fn run_with(bin: &Path, args: &[&str], stdin: &str, cache: &Path) -> Output {
    let output = saar_at(bin, args, stdin.as_bytes(), cache);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Every record the cases produce with `bin`, by case name.
fn records(bin: &Path, tmp: &Path) -> Vec<(String, Vec<Value>)> {
    let model = tiny_dir(tmp, Arch::Qwen3, &Shape::tiny(Arch::Qwen3));
    let model = model.to_str().unwrap();
    let marian = marian_copy(tmp);
    let marian = marian.to_str().unwrap();
    let one = |args: &[&str], stdin: &str| -> Vec<Value> {
        let out = run_with(bin, args, stdin, tmp);
        vec![serde_json::from_slice(&out.stdout).expect("one JSON object")]
    };
    let batch = |name: &str, input: &str, args: &[&str], stdin: &str| -> Vec<Value> {
        let out = tmp.join(format!("{name}.jsonl"));
        let mut all = vec!["batch", input, "-o", out.to_str().unwrap(), "-q"];
        all.extend(args);
        run_with(bin, &all, stdin, tmp);
        std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    vec![
        (
            "summarize".into(),
            one(
                &[
                    "summarize",
                    "-m",
                    model,
                    ARTICLE,
                    "--max-new-tokens",
                    "8",
                    "--repeat-penalty",
                    "1.1",
                    "--format",
                    "json",
                    "--check",
                ],
                "",
            ),
        ),
        (
            "translate-llm".into(),
            one(
                &[
                    "translate",
                    "-m",
                    model,
                    "-",
                    "--max-new-tokens",
                    "32",
                    "--repeat-penalty",
                    "1.1",
                    "--format",
                    "json",
                ],
                SHORT_TEXT,
            ),
        ),
        (
            "translate-marian".into(),
            one(
                &["translate", "-m", marian, ARTICLE, "--format", "json"],
                "",
            ),
        ),
        (
            "batch-llm".into(),
            batch(
                "llm",
                "-",
                &[
                    "--task",
                    "both",
                    "-m",
                    model,
                    "--max-new-tokens",
                    "32",
                    "--repeat-penalty",
                    "1.1",
                ],
                CORPUS,
            ),
        ),
        (
            "batch-marian".into(),
            batch(
                "marian",
                "examples/articles",
                &["--task", "translate", "-m", marian],
                "",
            ),
        ),
    ]
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/records")
        .join(format!("{name}.json"))
}

#[test]
fn every_command_prints_the_records_it_printed_before_the_model_api() {
    if let Some(old) = std::env::var_os("SAAR_RECORDS_FROM") {
        let tmp = tempfile::tempdir().unwrap();
        for (name, records) in records(Path::new(&old), tmp.path()) {
            let path = fixture(&name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, serde_json::to_string_pretty(&records).unwrap()).unwrap();
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    for (name, now) in records(Path::new(env!("CARGO_BIN_EXE_saar")), tmp.path()) {
        let before: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(fixture(&name)).unwrap()).unwrap();
        assert_eq!(now.len(), before.len(), "{name}: record count");
        for (now, before) in now.iter().zip(&before) {
            let before = before.as_object().unwrap();
            for (field, value) in before {
                if VARYING.contains(&field.as_str()) {
                    continue;
                }
                assert_eq!(now.get(field), Some(value), "{name}: field `{field}`");
            }
        }
    }
}

#[test]
fn max_new_tokens_reaches_a_translation_model() {
    let tmp = tempfile::tempdir().unwrap();
    let marian = marian_copy(tmp.path());
    let translate = |extra: &[&str]| -> Value {
        let mut args = vec![
            "translate",
            "-m",
            marian.to_str().unwrap(),
            ARTICLE,
            "--format",
            "json",
        ];
        args.extend(extra);
        json(&saar(&args, b"", tmp.path()))
    };
    let free = translate(&[]);
    let capped = translate(&["--max-new-tokens", "2"]);
    let translated = |record: &Value| {
        record["pieces"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["verbatim"] == false)
            .count() as u64
    };
    let sentences = translated(&capped);
    assert!(sentences > 0);
    // Two new tokens a sentence at most, where the model's own limit let it write more.
    assert!(
        capped["generated_tokens"].as_u64().unwrap() <= 2 * sentences,
        "{capped}"
    );
    assert!(
        free["generated_tokens"].as_u64().unwrap() > 2 * sentences,
        "{free}"
    );
}

#[test]
fn a_translation_model_asked_to_summarize_says_so_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let marian = marian_copy(tmp.path());
    let marian = marian.to_str().unwrap();
    for args in [
        vec!["summarize", "-m", marian, ARTICLE],
        vec![
            "batch",
            "examples/articles",
            "-o",
            "unused.jsonl",
            "--task",
            "both",
            "-m",
            marian,
        ],
    ] {
        let output = saar(&args, b"", tmp.path());
        assert_one_line_error(
            &output,
            &format!("{marian} is a translation model; it cannot summarize"),
        );
    }
    assert!(!Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("unused.jsonl")
        .exists());
}

#[test]
fn indictrans2_translates_through_the_model_api_and_cannot_summarize() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("indictrans-tiny");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir("tests/fixtures/indictrans/tiny").unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    let model = dir.to_str().unwrap();
    let args = [
        "translate",
        "-m",
        model,
        "-",
        "--beams",
        "1",
        "--max-new-tokens",
        "6",
        "--format",
        "json",
    ];
    let record = json(&saar(&args, SHORT_TEXT.as_bytes(), tmp.path()));
    let pieces = record["pieces"].as_array().unwrap();
    assert_eq!(pieces.len(), 2, "{record}");
    assert_eq!(pieces[0]["verbatim"], false);
    assert_eq!(pieces[1]["output"], "The metro will open next year.");
    assert!(
        record["generated_tokens"].as_u64().unwrap() <= 6,
        "{record}"
    );
    assert_eq!(record["prompt_hash"], Value::Null);
    let refused = saar(&["summarize", "-m", model, ARTICLE], b"", tmp.path());
    assert_one_line_error(
        &refused,
        &format!("{model} is a translation model; it cannot summarize"),
    );
}
