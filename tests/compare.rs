//! End to end: `saar compare` with two tiny random-weight models (qwen2 safetensors,
//! llama GGUF) over three short articles: the Markdown table on stdout, and an HTML
//! report that is well formed, escapes what it shows, and names every model and article.

#[path = "batch/corpus.rs"]
#[allow(dead_code)]
mod corpus;
#[path = "cli/support.rs"]
#[allow(dead_code)]
mod support;
#[path = "compare/well_formed.rs"]
mod well_formed;

use std::path::{Path, PathBuf};

use saar::synth::{Arch, Shape};
use support::*;

const MAX_NEW: &str = "3";

/// Short made-up articles; one id carries characters HTML must escape.
const ARTICLES: [(&str, &str); 3] = [
    (
        "rain",
        "शहर में बुधवार को 42 मिलीमीटर बारिश हुई। नगर निगम ने 12 पंप लगाए।\n",
    ),
    ("fair&<book>", "पुस्तक मेले में 300 प्रकाशक आए। मेला 9 दिन चलेगा।\n"),
    (
        "bridge",
        "नदी पर नया पुल 18 महीने में बनेगा। इसकी लागत 75 करोड़ रुपये है।\n",
    ),
];

fn corpus(root: &Path) -> PathBuf {
    let dir = root.join("articles");
    std::fs::create_dir_all(&dir).unwrap();
    for (id, text) in ARTICLES {
        std::fs::write(dir.join(format!("{id}.txt")), text).unwrap();
    }
    std::fs::write(dir.join("notes.md"), "not an article").unwrap();
    dir
}

fn models(root: &Path) -> [String; 2] {
    [
        tiny_dir(root, Arch::Qwen2, &Shape::tiny(Arch::Qwen2)),
        tiny_gguf(root, Arch::Llama, &Shape::tiny(Arch::Llama)),
    ]
    .map(|p| p.to_str().unwrap().to_string())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn two_models_with_references_give_a_table_and_a_well_formed_report() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = corpus(tmp.path());
    let [qwen, llama] = models(tmp.path());
    let refs = tmp.path().join("refs.jsonl");
    let reference_lines: Vec<String> = ARTICLES
        .iter()
        .map(|(id, _)| {
            serde_json::json!({"id": id, "text": format!("<i>Reference</i> for {id} & co.")})
                .to_string()
        })
        .collect();
    std::fs::write(&refs, reference_lines.join("\n")).unwrap();
    let report = tmp.path().join("report.html");
    let output = saar(
        &[
            "compare",
            "--model",
            &qwen,
            "--model",
            &llama,
            corpus.to_str().unwrap(),
            "--refs",
            refs.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
            "--max-new-tokens",
            MAX_NEW,
        ],
        b"",
        tmp.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));

    let table = stdout(&output);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "header, rule and one row per model:\n{table}"
    );
    assert!(
        lines[0].contains("BLEU") && lines[0].contains("ROUGE-L"),
        "{table}"
    );
    assert!(
        lines[2].starts_with(&format!("| {qwen} | qwen2 |")),
        "{table}"
    );
    assert!(
        lines[3].starts_with(&format!("| {llama} | llama |")),
        "{table}"
    );
    for row in &lines[2..] {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 11, "{row}");
        let prefill: f64 = cells[3].parse().unwrap();
        assert!(prefill > 0.0, "prefill speed measured: {row}");
        for score in &cells[7..] {
            let score: f64 = score.parse().unwrap();
            assert!((0.0..=100.0).contains(&score), "{row}");
        }
    }

    let html = std::fs::read_to_string(&report).unwrap();
    if let Err(problem) = well_formed::check(&html) {
        panic!("report is not well formed: {problem}");
    }
    for model in [&qwen, &llama] {
        assert!(html.contains(&escape(model)), "model {model} missing");
    }
    for (id, _) in ARTICLES {
        let id = format!("{id}.txt");
        assert!(html.contains(&format!("<h2>{}</h2>", escape(&id))), "{id}");
    }
    assert!(!html.contains("<book>") && !html.contains("<i>Reference"));
    assert!(html.contains("&lt;i&gt;Reference&lt;/i&gt; for bridge &amp; co."));
    assert_eq!(html.matches("<article class=\"card\"").count(), 6);
    assert_eq!(html.matches("<svg").count(), 2, "score and speed charts");
    assert!(!html.contains("notes"), "only *.txt files are articles");
}

#[test]
fn plain_text_references_must_match_the_article_count() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = corpus(tmp.path());
    let [qwen, _] = models(tmp.path());
    let refs = tmp.path().join("refs.txt");
    std::fs::write(&refs, "only one\n").unwrap();
    let output = saar(
        &[
            "compare",
            "-m",
            &qwen,
            corpus.to_str().unwrap(),
            "--refs",
            refs.to_str().unwrap(),
            "--report",
            tmp.path().join("r.html").to_str().unwrap(),
        ],
        b"",
        tmp.path(),
    );
    assert_one_line_error(&output, "has 1 references for 3 articles");
}

#[test]
fn without_references_translate_reports_speeds_but_no_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = corpus(tmp.path());
    let [qwen, llama] = models(tmp.path());
    let report = tmp.path().join("report.html");
    let rain = corpus.join("rain.txt");
    let output = saar(
        &[
            "compare",
            "-m",
            &qwen,
            "-m",
            &llama,
            rain.to_str().unwrap(),
            "--task",
            "translate",
            "--report",
            report.to_str().unwrap(),
            "--max-new-tokens",
            "4",
        ],
        b"",
        tmp.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stdout(&output).contains("BLEU"));
    let html = std::fs::read_to_string(&report).unwrap();
    well_formed::check(&html).unwrap();
    assert!(html.contains("saar compare: translate over 1 document, 2 models"));
    assert_eq!(html.matches("<svg").count(), 1, "speed chart only");
}

/// The files of the runs directory, with their contents.
/// Run files with the fields that measure time taken out of their records.
fn untimed(files: &[(String, String)]) -> Vec<(String, Vec<serde_json::Value>)> {
    (files.iter())
        .map(|(name, text)| (name.clone(), corpus::untimed_records(text)))
        .collect()
}

fn run_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_rerun_reuses_earlier_runs_and_runs_only_a_new_model() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = corpus(tmp.path());
    let [qwen, llama] = models(tmp.path());
    let report = tmp.path().join("report.html");
    let runs = tmp.path().join("report.runs");
    let compare = |models: &[&str], extra: &[&str]| {
        let mut args = vec!["compare", corpus.to_str().unwrap()];
        for model in models {
            args.extend(["-m", model]);
        }
        args.extend([
            "--report",
            report.to_str().unwrap(),
            "--max-new-tokens",
            MAX_NEW,
        ]);
        args.extend_from_slice(extra);
        saar(&args, b"", tmp.path())
    };
    let first = compare(&[&qwen], &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stderr(&first).contains(&format!("{qwen}: 3 article(s) run, 0 reused")));
    // One model alone gets its table row and report, as `--help` says.
    assert_eq!(stdout(&first).lines().count(), 3, "header, rule, one row");
    let html = std::fs::read_to_string(&report).unwrap();
    assert_eq!(html.matches("<article class=\"card\"").count(), 3);
    let after_first = run_files(&runs);
    assert_eq!(
        after_first.len(),
        1,
        "one batch output per model, task and settings"
    );
    assert_eq!(after_first[0].1.lines().count(), 3);

    let second = compare(&[&qwen, &llama], &[]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(stderr(&second).contains(&format!("{qwen}: 0 article(s) run, 3 reused")));
    assert!(stderr(&second).contains(&format!("{llama}: 3 article(s) run, 0 reused")));
    let after_second = run_files(&runs);
    assert_eq!(after_second.len(), 2);
    assert!(
        after_second.contains(&after_first[0]),
        "the first run is untouched"
    );
    // The reused row (outputs, speeds, wall time) is the first run's row.
    let row = |out: &std::process::Output| {
        stdout(out)
            .lines()
            .find(|l| l.starts_with(&format!("| {qwen} |")))
            .unwrap()
            .to_string()
    };
    assert_eq!(row(&first), row(&second));

    // The same models again: nothing runs, nothing is written.
    let third = compare(&[&qwen, &llama], &[]);
    assert!(third.status.success(), "{}", stderr(&third));
    assert!(stderr(&third).contains(&format!("{llama}: 0 article(s) run, 3 reused")));
    assert_eq!(run_files(&runs), after_second);
    // --force runs a model again; one article at a time (the first runs had several in
    // flight), its run file is the same but for times.
    let forced = compare(&[&llama], &["--force", "--parallel", "1"]);
    assert!(stderr(&forced).contains(&format!("{llama}: 3 article(s) run, 0 reused")));
    assert_eq!(untimed(&run_files(&runs)), untimed(&after_second));

    // Other weights written over the first model's, in place: its run is redone (the
    // local model's revision is a fingerprint of its files), the other is reused.
    corpus::overwrite_weights(Path::new(&qwen), Arch::Qwen2);
    let fourth = compare(&[&qwen, &llama], &[]);
    assert!(fourth.status.success(), "{}", stderr(&fourth));
    assert!(stderr(&fourth).contains(&format!("{qwen}: 3 article(s) run, 0 reused")));
    assert!(stderr(&fourth).contains(&format!("{llama}: 0 article(s) run, 3 reused")));
    // Weights that are broken now are loaded, not passed over for the old run.
    std::fs::write(Path::new(&qwen).join("model.safetensors"), b"not weights").unwrap();
    let broken = compare(&[&qwen], &[]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        stderr(&broken).contains("running model"),
        "{}",
        stderr(&broken)
    );
}

#[test]
fn a_marian_model_translates_next_to_an_llm_and_cannot_summarize() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = corpus(tmp.path());
    let [qwen, _] = models(tmp.path());
    let marian = corpus::marian_model(tmp.path());
    let marian = marian.to_str().unwrap();
    let report = tmp.path().join("t.html");
    let run = |task: &str| {
        saar(
            &[
                "compare",
                "-m",
                marian,
                "-m",
                &qwen,
                corpus.to_str().unwrap(),
                "--task",
                task,
                "--report",
                report.to_str().unwrap(),
                "--max-new-tokens",
                "4",
            ],
            b"",
            tmp.path(),
        )
    };
    let output = run("translate");
    assert!(output.status.success(), "{}", stderr(&output));
    let table = stdout(&output);
    assert!(table.contains(&format!("| {marian} | marian |")), "{table}");
    let html = std::fs::read_to_string(&report).unwrap();
    well_formed::check(&html).unwrap();
    assert_eq!(html.matches("<article class=\"card\"").count(), 6);
    let summarize = run("summarize");
    assert_one_line_error(&summarize, "is a translation model; it cannot summarize");
}
