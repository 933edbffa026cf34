//! `saar batch` end to end on tiny random-weight models: a corpus with bad documents,
//! resuming after runs stopped at named moments (`SAAR_TEST_ABORT_AT`), shards that
//! split a corpus exactly, the lock that keeps two runs off one output, and weights
//! overwritten in place that redo the work.

#[path = "batch/corpus.rs"]
#[allow(dead_code)] // shared with batch_marian.rs and compare.rs, which use other parts
mod corpus;
#[allow(dead_code)]
#[path = "cli/support.rs"]
mod support;

use std::collections::BTreeSet;

use corpus::*;
use support::*;

#[test]
fn corpus_with_bad_documents_gets_one_record_each_and_resumes_without_redoing() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model(tmp.path());
    let dir = write_corpus(tmp.path(), 34);
    write_bad_documents(&dir);
    let jsonl = tmp.path().join("more.jsonl");
    let lines: Vec<String> = (0..3)
        .map(|i| {
            serde_json::json!({"id": format!("j{i}"), "text": article(50 + i), "url": format!("https://example.org/{i}")})
                .to_string()
        })
        .chain([r#"{"id":"j-empty","text":""}"#.to_string()])
        .collect();
    std::fs::write(&jsonl, lines.join("\n") + "\n").unwrap();
    let out = tmp.path().join("results.jsonl");
    let (dir_s, jsonl_s, out_s) = (
        dir.to_str().unwrap(),
        jsonl.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let args = batch_args(&model, out_s, &[dir_s, jsonl_s]);

    let first = saar(&args, b"", tmp.path());
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("saar: batch 43/43 docs"),
        "progress log line"
    );
    assert!(
        summary_line(&first).contains("done 37, skipped 0, failed 6"),
        "{}",
        stderr(&first)
    );
    let written = records(&out);
    let counts = ids(&written);
    assert_eq!(written.len(), 43);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert!(counts.contains_key("day-1/a01.txt") && counts.contains_key("day-0/a00.md"));
    assert!(!counts.keys().any(|id| id.contains("notes")), "{counts:?}");
    for record in &written {
        let id = record["id"].as_str().unwrap();
        let bad = id.starts_with("bad-") || id == "j-empty";
        assert_eq!(
            record["status"],
            if bad { "error" } else { "ok" },
            "{record}"
        );
        assert_eq!(record["task"], "summarize");
        assert_eq!(record["settings"]["max_new_tokens"], 2);
        assert_eq!(record["content_hash"].as_str().unwrap().len(), 64);
        assert!(record["prompt_hash"].is_string() && record["model"].is_string());
        if bad {
            let error = record["error"].as_str().unwrap();
            assert!(!error.is_empty() && !error.contains('\n'), "{record}");
            assert!(record.get("summary").is_none());
        } else {
            assert!(record["summary"].is_string(), "{record}");
            assert!(record["prompt_tokens"].as_u64().unwrap() > 0);
            assert!(record["generated_tokens"].as_u64().unwrap() <= 2);
        }
    }
    let error_of = |id: &str| {
        written.iter().find(|r| r["id"] == id).unwrap()["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(error_of("bad-empty.txt").contains("empty"));
    assert!(error_of("bad-utf8.txt").contains("UTF-8"));
    assert!(error_of("bad-binary.md").contains("binary"));
    assert!(error_of("bad-too-long.txt").contains("MiB limit"));
    let j0 = written.iter().find(|r| r["id"] == "j0").unwrap();
    assert_eq!(j0["extra"]["url"], "https://example.org/0");
    assert_eq!(j0["source"], format!("{jsonl_s}:1"));

    // The same command again: nothing redone, the earlier failures still fail the run.
    let again = saar(&args, b"", tmp.path());
    assert_eq!(again.status.code(), Some(1));
    assert!(summary_line(&again).contains("done 0, skipped 43, failed 0 (+6 failed"));
    assert_eq!(records(&out).len(), 43);
    let retry = [&args[..], &["--retry-failed"]].concat();
    let retried = saar(&retry, b"", tmp.path());
    assert!(summary_line(&retried).contains("done 0, skipped 37, failed 6;"));
    assert_eq!(records(&out).len(), 49, "failures appended again");

    // A changed document is redone; other settings redo everything; --force starts over.
    std::fs::write(dir.join("day-2/a02.txt"), article(99)).unwrap();
    let changed = saar(&args, b"", tmp.path());
    assert!(summary_line(&changed).contains("done 1, skipped 42"));
    assert_eq!(records(&out).len(), 50);
    let longer: Vec<&str> = args
        .iter()
        .map(|&arg| if arg == "2" { "3" } else { arg })
        .collect();
    assert!(summary_line(&saar(&longer, b"", tmp.path())).contains("done 37, skipped 0, failed 6"));
    let forced = [&args[..], &["--force"]].concat();
    saar(&forced, b"", tmp.path());
    assert_eq!(records(&out).len(), 43);
    assert!(ids(&records(&out)).values().all(|&n| n == 1));
}
#[test]
fn parallel_documents_give_the_same_file_as_one_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model(tmp.path());
    let dir = write_corpus(tmp.path(), 9);
    write_bad_documents(&dir);
    // A document given twice (skipped the second time) and one that is empty.
    let jsonl = tmp.path().join("more.jsonl");
    let repeated = serde_json::json!({"id": "twice", "text": article(70)}).to_string();
    let lines = [
        repeated.clone(),
        r#"{"id":"j-empty","text":""}"#.into(),
        repeated,
    ];
    std::fs::write(&jsonl, lines.join("\n") + "\n").unwrap();
    let run = |parallel: &str| {
        let out = tmp.path().join(format!("parallel-{parallel}.jsonl"));
        let inputs = [dir.to_str().unwrap(), jsonl.to_str().unwrap()];
        let args = batch_args(&model, out.to_str().unwrap(), &inputs);
        let args: Vec<&str> = (args.iter())
            .map(|&arg| if arg == "2" { "6" } else { arg })
            .chain(["--parallel", parallel])
            .collect();
        let output = saar(&args, b"", tmp.path());
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        let line = summary_line(&output);
        let written = std::fs::read_to_string(&out).unwrap();
        (
            line.split(';').next().unwrap().to_string(),
            untimed_records(&written),
        )
    };
    let (one_line, one) = run("1");
    assert!(one_line.contains("skipped 1, failed 6"), "{one_line}");
    assert_eq!(run("4"), (one_line, one));
}

#[test]
fn both_tasks_record_a_summary_and_a_translation() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model(tmp.path());
    let out = tmp.path().join("both.jsonl");
    let mut args = batch_args(&model, out.to_str().unwrap(), &["-"]);
    args[2] = "both";
    // Two new tokens are less than a sentence needs: translation raises its budget.
    let run = saar(&args, jsonl_corpus(2).as_bytes(), tmp.path());
    assert!(run.status.success(), "{}", stderr(&run));
    let written = records(&out);
    assert_eq!(written.len(), 2);
    for record in &written {
        assert_eq!(record["task"], "both");
        assert!(record["summary"].is_string() && record["translation"].is_string());
        assert!(record["calls"].as_u64().unwrap() >= 2, "{record}");
    }
}

/// Where each killed run stops (`SAAR_TEST_ABORT_AT`), in order: at start-up, between
/// records, while writing a record (the next run must cut it away), and again.
const STOPS: [&str; 6] = [
    "locked:1", "record:3", "torn:2", "record:5", "torn:1", "record:1",
];

#[test]
fn killed_runs_resume_to_every_document_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model(tmp.path());
    let corpus = tmp.path().join("corpus.jsonl");
    let total = 20;
    std::fs::write(&corpus, jsonl_corpus(total)).unwrap();
    let out = tmp.path().join("out.jsonl");
    // Four documents in flight: the ones after a killed run's last record are lost
    // with it, never half written.
    let mut args = batch_args(&model, out.to_str().unwrap(), &[corpus.to_str().unwrap()]);
    args.extend(["--parallel", "4"]);
    let mut torn_before = false;
    for stop in STOPS {
        let before = whole_lines(&out);
        let run = saar_stopped_at(&args, tmp.path(), stop);
        assert_eq!(
            stderr(&run).contains("cut a torn last record"),
            torn_before,
            "{stop}: {}",
            stderr(&run)
        );
        assert_eq!(whole_lines(&out), lines_after(stop, before), "{stop}");
        torn_before = stop.starts_with("torn");
        let ends_whole = std::fs::read(&out).map_or(true, |b| b.is_empty() || b.ends_with(b"\n"));
        assert_eq!(ends_whole, !torn_before, "{stop}");
    }

    let last = saar(&args, b"", tmp.path());
    assert!(last.status.success(), "{}", stderr(&last));
    assert_eq!(
        stderr(&last).contains("cut a torn last record"),
        torn_before,
        "{}",
        stderr(&last)
    );
    let done_before = STOPS.iter().fold(0, |lines, stop| lines_after(stop, lines));
    assert!(
        summary_line(&last).contains(&format!(
            "done {}, skipped {done_before}",
            total - done_before
        )),
        "{}",
        stderr(&last)
    );
    let written = records(&out);
    let counts = ids(&written);
    assert_eq!(counts.len(), total);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert!(written.iter().all(|r| r["status"] == "ok"));
}

#[test]
fn three_shards_split_the_corpus_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model(tmp.path());
    let corpus = jsonl_corpus(30);
    let mut seen = BTreeSet::new();
    for k in 0..3 {
        let out = tmp.path().join(format!("shard-{k}.jsonl"));
        let shard = format!("{k}/3");
        let args = [
            &batch_args(&model, out.to_str().unwrap(), &["-"])[..],
            &["--shard", &shard],
        ]
        .concat();
        let run = saar(&args, corpus.as_bytes(), tmp.path());
        assert!(run.status.success(), "{}", stderr(&run));
        let ids = ids(&records(&out));
        assert!(!ids.is_empty(), "shard {k} is empty");
        for id in ids.keys() {
            assert_eq!(saar::task::batch::shard_of(id, 3), k, "{id}");
            assert!(seen.insert(id.clone()), "{id} in two shards");
        }
    }
    let all: BTreeSet<String> = (0..30).map(|i| format!("doc-{i}")).collect();
    assert_eq!(seen, all);
    let bad = saar(
        &[
            &batch_args(&model, "x.jsonl", &["-"])[..],
            &["--shard", "3/3"],
        ]
        .concat(),
        b"",
        tmp.path(),
    );
    assert_eq!(bad.status.code(), Some(2), "a usage error");
    assert!(
        stderr(&bad).contains("--shard 3/3: expected K/N"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn a_second_writer_of_one_output_is_refused_naming_the_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model(tmp.path());
    let out = tmp.path().join("results.jsonl");
    let corpus = tmp.path().join("one.jsonl");
    std::fs::write(&corpus, jsonl_corpus(1)).unwrap();
    // This test holds the output as a running batch does: locked, for as long as it
    // likes, with no moment to wait for.
    let (holder, _) = saar::task::batch::BatchOutput::open(&out, false).unwrap();
    let args = batch_args(&model, out.to_str().unwrap(), &[corpus.to_str().unwrap()]);
    let refused = saar(&args, b"", tmp.path());
    assert_one_line_error(&refused, "results.jsonl.lock");
    assert!(records(&out).is_empty(), "the refused run wrote nothing");

    drop(holder);
    let ran = saar(&args, b"", tmp.path());
    assert!(
        summary_line(&ran).contains("done 1, skipped 0"),
        "{}",
        stderr(&ran)
    );
    let again = saar(&args, b"", tmp.path());
    assert!(
        summary_line(&again).contains("done 0, skipped 1"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn overwritten_weights_redo_the_documents_and_unchanged_ones_are_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model(tmp.path());
    let out = tmp.path().join("results.jsonl");
    let args = batch_args(&model, out.to_str().unwrap(), &["-"]);
    let corpus = jsonl_corpus(3);
    let first = saar(&args, corpus.as_bytes(), tmp.path());
    assert!(
        summary_line(&first).contains("done 3, skipped 0"),
        "{}",
        stderr(&first)
    );
    let revision = records(&out)[0]["revision"].as_str().unwrap().to_string();
    assert!(revision.starts_with("local-"), "{revision}");
    let same = saar(&args, corpus.as_bytes(), tmp.path());
    assert!(
        summary_line(&same).contains("done 0, skipped 3"),
        "{}",
        stderr(&same)
    );

    // Other weights of the same shape, written over the old files in place.
    overwrite_weights(std::path::Path::new(&model.0), saar::synth::Arch::Qwen3);
    let redone = saar(&args, corpus.as_bytes(), tmp.path());
    assert!(
        summary_line(&redone).contains("done 3, skipped 0"),
        "{}",
        stderr(&redone)
    );
    let written = records(&out);
    assert_eq!(written.len(), 6);
    assert_ne!(written[5]["revision"], revision.as_str());
    let unchanged = saar(&args, corpus.as_bytes(), tmp.path());
    assert!(
        summary_line(&unchanged).contains("done 0, skipped 3"),
        "{}",
        stderr(&unchanged)
    );
}

#[test]
fn a_task_error_is_recorded_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model(tmp.path());
    let out = tmp.path().join("translations.jsonl");
    let mut args = batch_args(&model, out.to_str().unwrap(), &["-"]);
    args[2] = "translate";
    // A translation template that fails to render: the Hindi document fails inside the
    // task; the English one is kept verbatim (no template) and succeeds after it.
    break_translation_template(&model);
    let input = [
        serde_json::json!({"id": "hindi", "text": article(0)}).to_string(),
        serde_json::json!({"id": "english", "text": "The metro opens next year."}).to_string(),
    ]
    .join("\n");
    let run = saar(&args, input.as_bytes(), tmp.path());
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(summary_line(&run).contains("done 1, skipped 0, failed 1"));
    let written = records(&out);
    assert_eq!(written[0]["id"], "hindi");
    assert_eq!(written[0]["status"], "error");
    assert!(
        written[0]["error"]
            .as_str()
            .unwrap()
            .contains("translate.j2 line 1 failed to render"),
        "{}",
        written[0]
    );
    assert_eq!(written[1]["status"], "ok");
    assert_eq!(written[1]["translation"], "The metro opens next year.");
}

#[test]
fn both_keeps_the_summary_when_the_translation_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model(tmp.path());
    let out = tmp.path().join("both.jsonl");
    let mut args = batch_args(&model, out.to_str().unwrap(), &["-"]);
    args[2] = "both";
    // The translation template fails to render, the summary's does not: the
    // translation fails inside the task, the summary succeeds.
    break_translation_template(&model);
    let run = saar(&args, jsonl_corpus(2).as_bytes(), tmp.path());
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(summary_line(&run).contains("done 0, skipped 0, failed 2"));
    let written = records(&out);
    assert_eq!(written.len(), 2);
    for record in &written {
        assert_eq!(record["status"], "error", "{record}");
        assert!(record["summary"].is_string(), "summary kept: {record}");
        assert!(record.get("translation").is_none(), "{record}");
        let error = record["error"].as_str().unwrap();
        assert!(error.starts_with("translation: "), "{record}");
        assert!(
            error.contains("failed to render") && !error.contains('\n'),
            "{record}"
        );
        assert!(record["generated_tokens"].as_u64().unwrap() > 0, "{record}");
    }
    // A failed document stays failed on resume, and --retry-failed redoes it whole.
    let again = saar(&args, jsonl_corpus(2).as_bytes(), tmp.path());
    assert!(summary_line(&again).contains("done 0, skipped 2, failed 0 (+2 failed"));
    let retry = [&args[..], &["--retry-failed"]].concat();
    let retried = saar(&retry, jsonl_corpus(2).as_bytes(), tmp.path());
    assert!(summary_line(&retried).contains("skipped 0, failed 2;"));
    assert_eq!(records(&out).len(), 4);
}

#[test]
fn a_folder_as_input_and_an_output_in_a_new_folder_get_one_clean_clause_each() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model(tmp.path());
    // `--out` into folders not made yet: they are made.
    let out = tmp.path().join("new/deeper/results.jsonl");
    let args = batch_args(&model, out.to_str().unwrap(), &["-"]);
    let run = saar(&args, jsonl_corpus(1).as_bytes(), tmp.path());
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(records(&out).len(), 1);

    // A folder that cannot be made (a file is in the way): the OS error said once.
    std::fs::write(tmp.path().join("plain"), "a file").unwrap();
    let blocked_out = tmp.path().join("plain/results.jsonl");
    let args = batch_args(&model, blocked_out.to_str().unwrap(), &["-"]);
    let blocked = saar(&args, jsonl_corpus(1).as_bytes(), tmp.path());
    assert_one_line_error(&blocked, "plain");
    assert_eq!(
        stderr(&blocked).matches("os error").count(),
        1,
        "{}",
        stderr(&blocked)
    );

    // A folder given where an article file is expected.
    let folder = tmp.path().join("articles");
    std::fs::create_dir_all(&folder).unwrap();
    let args = ["summarize", "-m", &model.0, folder.to_str().unwrap()];
    let refused = saar(&args, b"", tmp.path());
    assert_one_line_error(&refused, "is a directory");
    let err = stderr(&refused).to_lowercase();
    assert_eq!(err.matches("is a directory").count(), 1, "{err}");
}

#[test]
fn ctrl_c_says_how_far_the_run_got_and_exits_130_and_a_rerun_finishes() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let tmp = tempfile::tempdir().unwrap();
    let model = model(tmp.path());
    let out = tmp.path().join("results.jsonl");
    let corpus = tmp.path().join("three.jsonl");
    std::fs::write(&corpus, jsonl_corpus(3)).unwrap();
    let mut args = batch_args(&model, out.to_str().unwrap(), &[corpus.to_str().unwrap()]);
    // One document at a time, so that two records are on disk when the third begins.
    args.extend(["--parallel", "1"]);

    // The run waits before its third document, with two records on disk; the test
    // interrupts it there, when it has said so.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_saar"))
        .args(&args)
        .current_dir(tmp.path())
        .env("HF_HUB_CACHE", tmp.path())
        .env("HF_HOME", tmp.path())
        .env("SAAR_TEST_PAUSE_AT", "begin:3")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr_lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in stderr_lines.by_ref() {
        let line = line.unwrap();
        let paused = line.contains("test pause before document 3");
        seen.push(line);
        if paused {
            break;
        }
    }
    assert!(seen.last().unwrap().contains("pause"), "{seen:?}");
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let rest: Vec<String> = stderr_lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    drop(child.stdin.take());
    assert_eq!(status.code(), Some(130), "{seen:?} {rest:?}");
    assert!(
        rest.iter()
            .any(|l| l == "saar: interrupted after 2 documents; run the same command to resume"),
        "{rest:?}"
    );
    assert_eq!(records(&out).len(), 2);

    let resumed = saar(&args, b"", tmp.path());
    assert!(
        summary_line(&resumed).contains("done 1, skipped 2"),
        "{}",
        stderr(&resumed)
    );
    assert!(ids(&records(&out)).values().all(|&n| n == 1));
}

/// Makes every LLM translation of `model`'s prompts fail for real: given a text, its
/// template calls a function that does not exist, which fails when it renders. (The
/// budget is measured on an empty text, which still renders; the summary's template
/// is untouched.)
fn break_translation_template(model: &(String, String)) {
    let template = std::path::Path::new(&model.1).join("translate.j2");
    let failing = "Translate: {{ text }}{% if text %}{{ no_such_function() }}{% endif %}";
    std::fs::write(template, failing).unwrap();
}
