//! `saar batch --task translate` with a Marian model (the tiny random opus-mt fixture):
//! sentence batches span documents, yet each record equals what `saar translate` gives
//! for that document alone; a bad document in the middle fails alone; a run resumes
//! after partial output; and summaries are refused with a one-line error.

#[path = "batch/corpus.rs"]
#[allow(dead_code)]
mod corpus;
#[allow(dead_code)]
#[path = "cli/support.rs"]
mod support;

use corpus::{article, ids, marian_model, records, summary_line};
use support::*;

/// Documents of different lengths (one with English kept verbatim, one with several
/// paragraphs, one all English) and a bad one in the middle.
fn documents() -> Vec<(String, String)> {
    let mut docs: Vec<(String, String)> =
        (0..5).map(|i| (format!("doc-{i}"), article(i))).collect();
    docs.insert(
        2,
        (
            "mixed".into(),
            format!(
                "{}\nThe minister said: \"Work starts in May.\"\n\n{}",
                article(7),
                article(8)
            ),
        ),
    );
    docs.insert(3, ("empty".into(), String::new()));
    docs.push(("english".into(), "The bridge opens next year.\n".into()));
    docs
}

fn jsonl(docs: &[(String, String)]) -> String {
    docs.iter()
        .map(|(id, text)| serde_json::json!({"id": id, "text": text}).to_string() + "\n")
        .collect()
}

fn batch_args<'a>(model: &'a str, out: &'a str, input: &'a str) -> Vec<&'a str> {
    vec![
        "batch",
        "--task",
        "translate",
        "-m",
        model,
        "--out",
        out,
        input,
    ]
}

#[test]
fn marian_batch_matches_translate_per_document_and_a_bad_document_fails_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let model = marian_model(tmp.path());
    let model = model.to_str().unwrap();
    let docs = documents();
    let corpus = tmp.path().join("corpus.jsonl");
    std::fs::write(&corpus, jsonl(&docs)).unwrap();
    let out = tmp.path().join("out.jsonl");
    let args = [
        &batch_args(model, out.to_str().unwrap(), corpus.to_str().unwrap())[..],
        &["--batch-size", "3"],
    ]
    .concat();
    let run = saar(&args, b"", tmp.path());
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(
        summary_line(&run).contains("done 7, skipped 0, failed 1"),
        "{}",
        stderr(&run)
    );
    let written = records(&out);
    let order: Vec<&str> = written.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let expected_order: Vec<&str> = docs.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(order, expected_order, "records in input order");
    for ((id, text), record) in docs.iter().zip(&written) {
        assert_eq!(record["architecture"], "marian");
        assert_eq!(record["task"], "translate");
        // Settings are JSON values, not Rust debug text such as "None".
        let early = &record["settings"]["early_stopping"];
        assert!(
            early.is_null() || early.is_boolean() || early == "never",
            "{record}"
        );
        if text.is_empty() {
            assert_eq!(record["status"], "error");
            assert!(
                record["error"].as_str().unwrap().contains("empty"),
                "{record}"
            );
            assert!(record.get("translation").is_none());
            continue;
        }
        assert_eq!(record["status"], "ok", "{record}");
        let alone = json(&saar(
            &["translate", "-m", model, "-", "--format", "json"],
            text.as_bytes(),
            tmp.path(),
        ));
        assert_eq!(record["translation"], alone["output"], "{id}");
        assert_eq!(
            record["generated_tokens"], alone["generated_tokens"],
            "{id}"
        );
        assert!(record["decode_secs"].as_f64().unwrap() >= 0.0);
    }
    let english = written.iter().find(|r| r["id"] == "english").unwrap();
    assert_eq!(english["translation"], "The bridge opens next year.");
    let mixed = written.iter().find(|r| r["id"] == "mixed").unwrap();
    let mixed = mixed["translation"].as_str().unwrap();
    assert!(mixed.contains("The minister said: \"Work starts in May.\""));
    assert!(mixed.contains("\n\n"), "paragraphs kept: {mixed:?}");

    // One sentence per batch, or a batch wider than the corpus: the same records.
    for size in ["1", "64"] {
        let other = tmp.path().join(format!("out-{size}.jsonl"));
        let args = [
            &batch_args(model, other.to_str().unwrap(), corpus.to_str().unwrap())[..],
            &["--batch-size", size],
        ]
        .concat();
        saar(&args, b"", tmp.path());
        let translations = |records: &[serde_json::Value]| -> Vec<serde_json::Value> {
            records.iter().map(|r| r["translation"].clone()).collect()
        };
        assert_eq!(translations(&records(&other)), translations(&written));
    }
}

#[test]
fn marian_batch_resumes_after_partial_output_and_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let model = marian_model(tmp.path());
    let model = model.to_str().unwrap();
    let docs: Vec<(String, String)> = (0..9).map(|i| (format!("d{i}"), article(i))).collect();
    let corpus = tmp.path().join("corpus.jsonl");
    std::fs::write(&corpus, jsonl(&docs)).unwrap();
    let out = tmp.path().join("out.jsonl");
    let args = batch_args(model, out.to_str().unwrap(), corpus.to_str().unwrap());
    let full = saar(&args, b"", tmp.path());
    assert!(full.status.success(), "{}", stderr(&full));
    let complete = records(&out);
    assert_eq!(complete.len(), 9);

    // As a crash leaves it: four whole records and a torn fifth.
    let text = std::fs::read_to_string(&out).unwrap();
    let kept: Vec<&str> = text.lines().take(4).collect();
    let torn = &text.lines().nth(4).unwrap()[..40];
    std::fs::write(&out, kept.join("\n") + "\n" + torn).unwrap();
    let resumed = saar(&args, b"", tmp.path());
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(stderr(&resumed).contains("cut a torn last record"));
    assert!(summary_line(&resumed).contains("done 5, skipped 4, failed 0"));
    let after = records(&out);
    assert_eq!(after.len(), 9);
    assert!(ids(&after).values().all(|&n| n == 1));
    for record in &after {
        let before = complete.iter().find(|r| r["id"] == record["id"]).unwrap();
        assert_eq!(record["translation"], before["translation"]);
    }
    // Batching never changes a translation: another --batch-size redoes nothing.
    let wider = [&args[..], &["--batch-size", "2"]].concat();
    assert!(summary_line(&saar(&wider, b"", tmp.path())).contains("done 0, skipped 9"));

    // Two shards of the same corpus cover it once.
    let mut seen = Vec::new();
    for k in 0..2 {
        let shard_out = tmp.path().join(format!("shard-{k}.jsonl"));
        let shard = format!("{k}/2");
        let args = [
            &batch_args(model, shard_out.to_str().unwrap(), corpus.to_str().unwrap())[..],
            &["--shard", &shard, "--beams", "2"],
        ]
        .concat();
        assert!(saar(&args, b"", tmp.path()).status.success());
        seen.extend(ids(&records(&shard_out)).into_keys());
    }
    seen.sort();
    let all: Vec<String> = docs.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(seen, all);
}

#[test]
fn a_marian_model_cannot_summarize() {
    let tmp = tempfile::tempdir().unwrap();
    let model = marian_model(tmp.path());
    let out = tmp.path().join("out.jsonl");
    for task in ["summarize", "both"] {
        let run = saar(
            &[
                "batch",
                "--task",
                task,
                "-m",
                model.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "-",
            ],
            b"",
            tmp.path(),
        );
        assert_one_line_error(&run, "is a translation model; it cannot summarize");
        assert!(!out.exists(), "refused before the output is opened");
    }
}

#[test]
fn killed_marian_runs_resume_to_every_document_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let model = marian_model(tmp.path());
    let model = model.to_str().unwrap();
    let total = 16;
    let docs: Vec<(String, String)> = (0..total).map(|i| (format!("k{i}"), article(i))).collect();
    let corpus = tmp.path().join("corpus.jsonl");
    std::fs::write(&corpus, jsonl(&docs)).unwrap();
    let clean = tmp.path().join("clean.jsonl");
    let clean_args = batch_args(model, clean.to_str().unwrap(), corpus.to_str().unwrap());
    assert!(saar(&clean_args, b"", tmp.path()).status.success());
    let expected = records(&clean);

    let out = tmp.path().join("out.jsonl");
    let args = [
        &batch_args(model, out.to_str().unwrap(), corpus.to_str().unwrap())[..],
        &["--batch-size", "3"],
    ]
    .concat();
    // Stops between records and in the middle of one, while sentence batches span
    // documents (`SAAR_TEST_ABORT_AT`, see src/task/batch/abort_hook.rs).
    for stop in ["record:2", "torn:3", "record:1", "torn:1", "record:4"] {
        let before = corpus::whole_lines(&out);
        corpus::saar_stopped_at(&args, tmp.path(), stop);
        assert_eq!(
            corpus::whole_lines(&out),
            corpus::lines_after(stop, before),
            "{stop}"
        );
    }
    let last = saar(&args, b"", tmp.path());
    assert!(last.status.success(), "{}", stderr(&last));
    let written = records(&out);
    assert!(
        ids(&written).values().all(|&n| n == 1),
        "{:?}",
        ids(&written)
    );
    assert_eq!(written.len(), total);
    for record in &written {
        let clean = expected.iter().find(|r| r["id"] == record["id"]).unwrap();
        assert_eq!(
            record["translation"], clean["translation"],
            "{}",
            record["id"]
        );
    }
}
