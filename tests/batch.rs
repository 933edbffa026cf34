//! `saar batch` end to end on tiny random-weight models: a corpus with bad documents,
//! resuming after SIGKILL at random moments, shards that split a corpus exactly, and
//! the lock that keeps two runs off one output.

#[path = "batch/corpus.rs"]
#[allow(dead_code)] // shared with batch_marian.rs and compare.rs, which use other parts
mod corpus;
#[allow(dead_code)]
#[path = "cli/support.rs"]
mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

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
fn both_tasks_record_a_summary_and_a_translation() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model(tmp.path());
    let out = tmp.path().join("both.jsonl");
    let mut args = batch_args(&model, out.to_str().unwrap(), &["-"]);
    args[2] = "both";
    // A translation chunk must fit in --max-new-tokens, so translation needs a few more.
    let last = args.len() - 2;
    args[last] = "12";
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

/// A small xorshift generator: the crash test's kill moments, reproducible from a seed.
struct Moments(u64);

impl Moments {
    fn next_millis(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

#[test]
fn killed_runs_resume_to_every_document_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model(tmp.path());
    let corpus = tmp.path().join("corpus.jsonl");
    let total = 60;
    std::fs::write(&corpus, jsonl_corpus(total)).unwrap();
    let out = tmp.path().join("out.jsonl");
    let args = batch_args(&model, out.to_str().unwrap(), &[corpus.to_str().unwrap()]);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut moments = Moments(seed);
    let mut kills_mid_run = 0;
    for round in 0..12 {
        let before = records_lenient(&out);
        if before == total {
            break;
        }
        let mut child = spawn_saar(&args, tmp.path(), Stdio::null(), Stdio::null());
        if round % 6 == 0 {
            // Any moment, start-up included.
            std::thread::sleep(Duration::from_millis(moments.next_millis(250)));
        } else {
            // Mid-run: once a few more records are out, then a moment later.
            let wanted = before + 1 + moments.next_millis(4) as usize;
            let deadline = Instant::now() + Duration::from_secs(60);
            while records_lenient(&out) < wanted
                && child.try_wait().unwrap().is_none()
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            std::thread::sleep(Duration::from_millis(moments.next_millis(15)));
        }
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap(); // SIGKILL: no chance to clean up
        child.wait().unwrap();
        let written = records_lenient(&out);
        if !finished && written > before && written < total {
            kills_mid_run += 1;
        }
    }
    eprintln!("seed {seed}: {kills_mid_run} kills landed mid-run");
    // A write torn by the crash (simulated: a partial record without its newline).
    let mut partial = std::fs::read(&out).unwrap_or_default();
    partial.extend_from_slice(br#"{"id":"doc-1","content_hash":"ab"#);
    std::fs::write(&out, partial).unwrap();

    let last = saar(&args, b"", tmp.path());
    assert!(last.status.success(), "seed {seed}: {}", stderr(&last));
    assert!(
        stderr(&last).contains("cut a torn last record"),
        "{}",
        stderr(&last)
    );
    let written = records(&out);
    let counts = ids(&written);
    assert_eq!(counts.len(), total, "seed {seed}");
    assert!(counts.values().all(|&n| n == 1), "seed {seed}: {counts:?}");
    assert!(written.iter().all(|r| r["status"] == "ok"), "seed {seed}");
    assert!(
        kills_mid_run >= 3,
        "seed {seed}: only {kills_mid_run} kills landed mid-run"
    );
}

/// Whole lines in the output so far (a torn last line does not count).
fn records_lenient(out: &Path) -> usize {
    std::fs::read_to_string(out).map_or(0, |t| t.matches('\n').count())
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
    // The first run takes the lock, then waits for its documents on standard input.
    let first_args = batch_args(&model, out.to_str().unwrap(), &["-"]);
    let mut first = spawn_saar(&first_args, tmp.path(), Stdio::piped(), Stdio::piped());
    let lock = tmp.path().join("results.jsonl.lock");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !lock.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    // The lock is taken right after the file is created; leave the first run a moment.
    std::thread::sleep(Duration::from_millis(300));
    let second = batch_args(&model, out.to_str().unwrap(), &[corpus.to_str().unwrap()]);
    let refused = saar(&second, b"", tmp.path());
    assert_one_line_error(&refused, "results.jsonl.lock");

    let mut stdin = first.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, jsonl_corpus(1).as_bytes()).unwrap();
    drop(stdin);
    let finished = first.wait_with_output().unwrap();
    assert!(finished.status.success(), "{}", stderr(&finished));
    let written = records(&out);
    assert_eq!(written.len(), 1, "only the first run wrote");
    // With the lock released, the second command runs and finds its document done.
    let after = saar(&second, b"", tmp.path());
    assert!(
        summary_line(&after).contains("done 0, skipped 1"),
        "{}",
        stderr(&after)
    );
}

#[test]
fn a_task_error_is_recorded_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model(tmp.path());
    let out = tmp.path().join("translations.jsonl");
    let mut args = batch_args(&model, out.to_str().unwrap(), &["-"]);
    args[2] = "translate";
    // Two new tokens cannot hold the translation of a Hindi word, so that document
    // fails inside the task; the English one is kept verbatim and succeeds after it.
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
        written[0]["error"].as_str().unwrap().contains("budget"),
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
    // Two new tokens are enough for a summary but cannot hold the translation of a
    // Hindi word: the translation fails inside the task, the summary succeeds.
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
            error.contains("budget") && !error.contains('\n'),
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
