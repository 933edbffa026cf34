//! Helpers for the batch tests: a corpus written for the project (short Hindi articles
//! and bad files), a tiny model with short prompts, and readers for the output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use saar::synth::{Arch, Shape};
use serde_json::Value;

use crate::support::{stderr, tiny_dir};

const PLACES: [&str; 8] = [
    "नागपुर",
    "पटना",
    "भोपाल",
    "जयपुर",
    "लखनऊ",
    "इंदौर",
    "रांची",
    "शिमला",
];
const EVENTS: [&str; 5] = [
    "नई सड़क का उद्घाटन हुआ",
    "बारिश से फसलें खराब हुईं",
    "स्कूलों में नई किताबें पहुँचीं",
    "अस्पताल में नया वार्ड खुला",
    "बस सेवा का विस्तार किया गया",
];

/// A short article written for these tests (never scraped text).
pub fn article(i: usize) -> String {
    let place = PLACES[i % PLACES.len()];
    let event = EVENTS[i % EVENTS.len()];
    format!(
        "{place} में सोमवार को {event}।\n\nअधिकारियों ने कहा कि {} लोगों को लाभ होगा।\n",
        100 + i * 7
    )
}

/// A corpus folder: `good` articles in nested folders and a file to ignore.
pub fn write_corpus(root: &Path, good: usize) -> PathBuf {
    let dir = root.join("corpus");
    for i in 0..good {
        let sub = dir.join(format!("day-{}", i % 3));
        std::fs::create_dir_all(&sub).unwrap();
        let ext = if i % 4 == 0 { "md" } else { "txt" };
        std::fs::write(sub.join(format!("a{i:02}.{ext}")), article(i)).unwrap();
    }
    std::fs::write(dir.join("notes.json"), "{}").unwrap();
    dir
}

pub fn write_bad_documents(dir: &Path) {
    std::fs::write(dir.join("bad-empty.txt"), "").unwrap();
    std::fs::write(dir.join("bad-blank.txt"), " \n\t\n").unwrap();
    std::fs::write(dir.join("bad-utf8.txt"), b"\xe0\xa4\x95 \xff\xfe broken").unwrap();
    std::fs::write(dir.join("bad-binary.md"), b"\x00\x01\x02\x03binary\x00").unwrap();
    // Over the input size limit (sparse: no time spent writing it).
    let too_long = std::fs::File::create(dir.join("bad-too-long.txt")).unwrap();
    too_long
        .set_len(saar::text::MAX_INPUT_BYTES as u64 + 1024)
        .unwrap();
}

/// A tiny model and short prompt templates (the built-in ones are long, and prefill
/// dominates a tiny model's time): returns the model path and the prompts folder.
pub fn model(root: &Path) -> (String, String) {
    let model = tiny_dir(root, Arch::Qwen3, &Shape::tiny(Arch::Qwen3));
    let prompts = root.join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    std::fs::write(prompts.join("system.j2"), "Be brief.").unwrap();
    std::fs::write(prompts.join("summarize.j2"), "Summarize: {{ text }}").unwrap();
    std::fs::write(prompts.join("translate.j2"), "Translate: {{ text }}").unwrap();
    let path = |p: PathBuf| p.to_str().unwrap().to_string();
    (path(model), path(prompts))
}

pub fn batch_args<'a>(
    model: &'a (String, String),
    out: &'a str,
    inputs: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "batch",
        "--task",
        "summarize",
        "-m",
        &model.0,
        "--prompts",
        &model.1,
        "--out",
        out,
        "--max-new-tokens",
        "2",
    ];
    args.extend_from_slice(inputs);
    args
}

/// Every line of the output as JSON, asserting that each one parses.
pub fn records(out: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(out).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'), "whole lines only");
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

pub fn ids(records: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in records {
        *counts
            .entry(record["id"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    counts
}

pub fn summary_line(output: &Output) -> String {
    let err = stderr(output);
    err.lines()
        .rfind(|l| l.starts_with("saar: batch done"))
        .unwrap_or_else(|| panic!("no summary line in: {err}"))
        .to_string()
}

/// Article lines for standard input.
pub fn jsonl_corpus(count: usize) -> String {
    (0..count)
        .map(|i| {
            serde_json::json!({"id": format!("doc-{i}"), "text": article(i)}).to_string() + "\n"
        })
        .collect()
}

/// Starts `saar` in the background (for killing it, or for holding its lock), with a
/// private HF cache in `cache`, and stdout discarded.
pub fn spawn_saar(args: &[&str], cache: &Path, stdin: Stdio, stderr: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_saar"))
        .args(args)
        .current_dir(cache)
        .env("HF_HUB_CACHE", cache)
        .env("HF_HOME", cache)
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start saar")
}

/// Runs `saar` (no standard input) with `SAAR_TEST_ABORT_AT=<stop>`, so that it ends
/// as a crash would at that named point of the batch writer, and checks that it did.
pub fn saar_stopped_at(args: &[&str], cache: &Path, stop: &str) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_saar"))
        .args(args)
        .current_dir(cache)
        .env("HF_HUB_CACHE", cache)
        .env("HF_HOME", cache)
        .env("SAAR_TEST_ABORT_AT", stop)
        .stdin(Stdio::null())
        .output()
        .expect("run saar");
    assert_eq!(
        output.status.code(),
        Some(saar::task::batch::TEST_ABORT_EXIT_CODE),
        "the run should have stopped at {stop}: {}",
        stderr(&output)
    );
    output
}

/// Whole lines in the output so far (a torn last line does not count).
pub fn whole_lines(out: &Path) -> usize {
    std::fs::read_to_string(out).map_or(0, |t| t.matches('\n').count())
}

/// Whole records on disk after a run stopped at `stop`, given `before` of them:
/// `record:n` stops once the n-th record is written, `torn:n` while writing the n-th.
pub fn lines_after(stop: &str, before: usize) -> usize {
    let (point, n) = stop.split_once(':').expect("point:n");
    let n: usize = n.parse().expect("a count");
    before
        + match point {
            "record" => n,
            "torn" => n - 1,
            _ => 0,
        }
}

/// Writes other random weights of the same shape over the weight file of `model` (a
/// tiny `arch` folder), in place, leaving its config and tokenizer as they were.
pub fn overwrite_weights(model: &Path, arch: Arch) {
    let other = model.with_extension("other-weights");
    let template = crate::support::real_template(arch);
    let shape = Shape::tiny(arch);
    saar::synth::write_safetensors_model(&other, &shape, candle_core::DType::F32, 8, &template)
        .unwrap();
    std::fs::copy(
        other.join("model.safetensors"),
        model.join("model.safetensors"),
    )
    .unwrap();
}

/// A copy of the fixture model: loading caches the converted tokenizer beside it,
/// which must never land in tests/fixtures.
pub fn marian_model(root: &Path) -> PathBuf {
    let dir = root.join("opus-mt-tiny");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir("tests/fixtures/marian/tiny").unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    dir
}

/// The fields of a record that measure time.
pub const TIMES: [&str; 5] = [
    "elapsed_secs",
    "prefill_secs",
    "decode_secs",
    "prefill_tokens_per_sec",
    "decode_tokens_per_sec",
];

/// The records of a JSON-lines text, without the fields that measure time.
pub fn untimed_records(text: &str) -> Vec<Value> {
    (text.lines())
        .map(|line| {
            let mut record: Value = serde_json::from_str(line).unwrap();
            for field in TIMES {
                record.as_object_mut().unwrap().remove(field);
            }
            record
        })
        .collect()
}
