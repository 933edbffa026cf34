//! End to end: the real `saar` binary on tiny random-weight models that the tests
//! build (every architecture, safetensors and GGUF), on files and stdin, as text and
//! JSON; and every kind of bad input ending in a one-line error.

#[path = "cli/support.rs"]
mod support;

use saar::synth::{Arch, Shape};
use support::*;

const MAX_NEW: &str = "6";
const SHORT_TEXT: &[u8] =
    "मंत्रिमंडल ने परियोजना को मंजूरी दी।\n\nThe metro will open next year.\n".as_bytes();

#[test]
fn summarize_and_translate_every_architecture_from_safetensors_and_gguf() {
    let tmp = tempfile::tempdir().unwrap();
    for arch in ARCHES {
        let shape = Shape::tiny(arch);
        let models = [
            tiny_dir(tmp.path(), arch, &shape),
            tiny_gguf(tmp.path(), arch, &shape),
        ];
        for model in &models {
            let model = model.to_str().unwrap();
            // Translation makes a call per line: a short text keeps this test quick.
            let cases = [
                ("summarize", ARTICLE, &b""[..]),
                ("translate", "-", SHORT_TEXT),
            ];
            for (task, input, stdin) in cases {
                let args = [
                    task,
                    "-m",
                    model,
                    input,
                    "--max-new-tokens",
                    MAX_NEW,
                    "--format",
                    "json",
                ];
                let output = saar(&args, stdin, tmp.path());
                let record = json(&output);
                assert_eq!(record["task"], task);
                assert_eq!(
                    record["architecture"],
                    format!("{arch:?}").to_lowercase(),
                    "{model}"
                );
                assert!(record["prompt_tokens"].as_u64().unwrap() > 0, "{record}");
                let generated = record["generated_tokens"].as_u64().unwrap();
                let calls = record["calls"].as_u64().unwrap();
                // A translation raises a budget below its longest sentence to that
                // sentence, and says so; nothing else goes past --max-new-tokens.
                let limit = stderr(&output)
                    .split("whole sentences need (up to ")
                    .nth(1)
                    .and_then(|rest| rest.split(' ').next()?.parse().ok())
                    .unwrap_or(6);
                assert!(calls >= 1 && generated <= calls * limit, "{record}");
                assert_eq!(record["device"], "cpu");
            }
        }
    }
}

#[test]
fn stdin_and_file_give_the_same_output_and_text_streams_what_json_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_dir(tmp.path(), Arch::Qwen3, &Shape::tiny(Arch::Qwen3));
    let model = model.to_str().unwrap();
    let article = std::fs::read(ARTICLE).unwrap();
    let from_file = json(&saar(
        &[
            "summarize",
            "-m",
            model,
            ARTICLE,
            "--max-new-tokens",
            "8",
            "--format",
            "json",
        ],
        b"",
        tmp.path(),
    ));
    let from_stdin = json(&saar(
        &[
            "summarize",
            "-m",
            model,
            "-",
            "--max-new-tokens",
            "8",
            "--format",
            "json",
        ],
        &article,
        tmp.path(),
    ));
    assert_eq!(from_file["output"], from_stdin["output"]);
    let text = saar(
        &["summarize", "-m", model, "-", "--max-new-tokens", "8"],
        &article,
        tmp.path(),
    );
    assert!(text.status.success(), "{}", stderr(&text));
    assert_eq!(
        stdout(&text).trim_end_matches('\n'),
        from_file["output"].as_str().unwrap()
    );
}

#[test]
fn translation_keeps_english_sentences_verbatim_and_drops_boilerplate() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_dir(tmp.path(), Arch::Qwen2, &Shape::tiny(Arch::Qwen2));
    let args = [
        "translate",
        "-m",
        model.to_str().unwrap(),
        ARTICLE,
        "--max-new-tokens",
        "4",
        "--format",
        "json",
    ];
    let record = json(&saar(&args, b"", tmp.path()));
    let output = record["output"].as_str().unwrap();
    let tweet = "Metro phase 2 will transform daily travel for lakhs of commuters in Nagpur.";
    assert!(output.contains(tweet), "English kept verbatim: {output}");
    assert!(
        !output.contains("pic.twitter.com"),
        "tweet footer removed: {output}"
    );
    let pieces = record["pieces"].as_array().unwrap();
    assert!(pieces.iter().any(|p| p["verbatim"] == true));
    assert!(
        pieces.iter().filter(|p| p["verbatim"] == false).count() >= 4,
        "each Hindi line translated: {record}"
    );
    assert!(record["removed_boilerplate"].as_u64().unwrap() >= 3);
    // Paragraphs survive: one blank line between each translated paragraph.
    assert!(output.matches("\n\n").count() >= 4, "{output:?}");
}

#[test]
fn long_article_goes_map_reduce_in_a_small_context() {
    let tmp = tempfile::tempdir().unwrap();
    let (output, _) = summarize_long(tmp.path(), 3, "8");
    let record = json(&output);
    let chunks = record["chunks"].as_u64().unwrap();
    assert!(chunks > 1, "{record}");
    assert!(record["combine_rounds"].as_u64().unwrap() >= 1, "{record}");
    assert!(
        record["calls"].as_u64().unwrap() > chunks,
        "every chunk, then a combine: {record}"
    );
    let log = stderr(&output);
    for i in 1..=chunks {
        assert!(
            log.contains(&format!("summarizing chunk {i}/{chunks}")),
            "{log}"
        );
    }
    assert!(log.contains("combining"), "{log}");
}

#[test]
fn a_long_articles_chunks_decoded_together_give_the_same_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let (model, article) = small_context_model_and_long_article(tmp.path(), 3);
    let run = |parallel: &str| {
        let args = [
            &summarize_long_args(&model, "8")[..],
            &["--parallel", parallel],
        ]
        .concat();
        saar(&args, article.as_bytes(), tmp.path())
    };
    let (alone, together) = (run("1"), run("3"));
    let (one, three) = (json(&alone), json(&together));
    assert!(one["chunks"].as_u64().unwrap() > 1, "{one}");
    for field in [
        "output",
        "chunks",
        "combine_rounds",
        "calls",
        "generated_tokens",
    ] {
        assert_eq!(one[field], three[field], "{field}");
    }
    // Chunks decoded together all start at once; one at a time, one after another.
    let log = stderr(&together);
    let started = log.find("summarizing chunk 2/").unwrap();
    assert!(
        started < log.find("summarizing chunk 1/").unwrap() + 200,
        "{log}"
    );
}

#[test]
fn split_chunks_are_the_chunks_summarize_uses() {
    let tmp = tempfile::tempdir().unwrap();
    let mut shape = Shape::tiny(Arch::Qwen2);
    shape.context = 2048;
    let model = tiny_dir(tmp.path(), Arch::Qwen2, &shape);
    let model = model.to_str().unwrap();
    let article = std::fs::read_to_string(ARTICLE).unwrap().repeat(3);
    let common = [
        "-m",
        model,
        "-",
        "--max-new-tokens",
        "8",
        "--format",
        "json",
    ];
    let summary = json(&saar(
        &[&["summarize"][..], &common].concat(),
        article.as_bytes(),
        tmp.path(),
    ));
    let split = json(&saar(
        &[&["split", "--chunks"][..], &common].concat(),
        article.as_bytes(),
        tmp.path(),
    ));
    let chunks = split["chunks"].as_array().unwrap();
    assert!(chunks.len() > 1, "{split}");
    assert_eq!(summary["chunks"], chunks.len(), "{split}");
    let budget = split["budget"].as_u64().unwrap();
    assert!(budget > 0 && budget < 2048, "{split}");
    assert!(chunks
        .iter()
        .all(|c| c["tokens"].as_u64().unwrap() <= budget));
}

#[test]
fn prompts_directory_overrides_the_built_in_template() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_dir(tmp.path(), Arch::Llama, &Shape::tiny(Arch::Llama));
    let model = model.to_str().unwrap();
    let prompts = tmp.path().join("prompts");
    std::fs::create_dir(&prompts).unwrap();
    std::fs::write(prompts.join("summarize.j2"), "Summary please: {{ text }}").unwrap();
    let base = [
        "summarize",
        "-m",
        model,
        ARTICLE,
        "--max-new-tokens",
        "2",
        "--format",
        "json",
    ];
    let default = json(&saar(&base, b"", tmp.path()));
    let overridden = json(&saar(
        &[&base[..], &["--prompts", prompts.to_str().unwrap()]].concat(),
        b"",
        tmp.path(),
    ));
    assert_ne!(default["prompt_hash"], overridden["prompt_hash"]);
    assert!(overridden["prompt_tokens"].as_u64() < default["prompt_tokens"].as_u64());
}

#[test]
fn bad_input_gets_one_line_that_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_dir(tmp.path(), Arch::Qwen3, &Shape::tiny(Arch::Qwen3));
    let model = model.to_str().unwrap();
    let run =
        |input: &str, stdin: &[u8]| saar(&["summarize", "-m", model, input], stdin, tmp.path());
    assert_one_line_error(&run("no/such/article.txt", b""), "no/such/article.txt");
    assert_one_line_error(&run("-", b""), "empty");
    assert_one_line_error(&run("-", b"  \n\t \n"), "empty");
    assert_one_line_error(&run("-", b"\xe0\xa4\x95 \xff\xfe invalid"), "UTF-8");
    assert_one_line_error(&run("-", b"\x00\x01\x02binary\x00\x00"), "binary");
}

#[test]
fn translate_without_a_model_uses_indictrans2_and_summarize_the_default_llm() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |task: &str| saar(&[task, ARTICLE, "--offline"], b"", tmp.path());
    let translate = run("translate");
    assert_one_line_error(&translate, "saar models pull indictrans2-hi-en");
    let summarize = run("summarize");
    assert_one_line_error(&summarize, "saar models pull qwen3-1.7b");
    let batch = saar(
        &[
            "batch",
            ARTICLE,
            "--task",
            "translate",
            "--offline",
            "--out",
            "-",
        ],
        b"",
        tmp.path(),
    );
    assert_one_line_error(&batch, "indictrans2-hi-en");
}

#[test]
fn model_problems_get_one_line_that_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |model: &str, extra: &[&str]| {
        saar(
            &[&["summarize", "-m", model, ARTICLE][..], extra].concat(),
            b"",
            tmp.path(),
        )
    };
    assert_one_line_error(&run("no-such-preset", &[]), "qwen3-1.7b");
    assert_one_line_error(&run("Qwen/Qwen3-1.7B", &["--offline"]), "saar models pull");

    let truncated = tiny_dir(tmp.path(), Arch::Qwen2, &Shape::tiny(Arch::Qwen2));
    let weights = truncated.join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    assert_one_line_error(&run(truncated.to_str().unwrap(), &[]), "model.safetensors");

    let missing_field = tmp.path().join("missing-field");
    let dir = tiny_dir(&missing_field, Arch::Llama, &Shape::tiny(Arch::Llama));
    let config_path = dir.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    config.as_object_mut().unwrap().remove("hidden_size");
    std::fs::write(&config_path, config.to_string()).unwrap();
    assert_one_line_error(&run(dir.to_str().unwrap(), &[]), "hidden_size");

    let unsupported = tmp.path().join("unsupported");
    let dir = tiny_dir(&unsupported, Arch::Qwen2, &Shape::tiny(Arch::Qwen2));
    let config_path = dir.join("config.json");
    let config = std::fs::read_to_string(&config_path)
        .unwrap()
        .replace("\"qwen2\"", "\"mamba\"");
    std::fs::write(&config_path, config).unwrap();
    assert_one_line_error(&run(dir.to_str().unwrap(), &[]), "gemma3");
}

#[test]
fn invalid_settings_are_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_dir(tmp.path(), Arch::Qwen2, &Shape::tiny(Arch::Qwen2));
    let model = model.to_str().unwrap();
    let run = |extra: &[&str]| {
        saar(
            &[&["summarize", "-m", model, ARTICLE][..], extra].concat(),
            b"",
            tmp.path(),
        )
    };
    assert_one_line_error(&run(&["--top-p", "1.5"]), "--top-p");
    assert_one_line_error(&run(&["--device", "cuda"]), "--features cuda");
    assert_one_line_error(&run(&["--max-new-tokens", "0"]), "--max-new-tokens");
}

#[test]
fn translate_with_a_marian_model_keeps_english_and_paragraphs() {
    let tmp = tempfile::tempdir().unwrap();
    // A copy: loading caches the converted tokenizer beside the model.
    let dir = tmp.path().join("opus-mt-tiny");
    std::fs::create_dir(&dir).unwrap();
    for entry in std::fs::read_dir("tests/fixtures/marian/tiny").unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    let model = dir.to_str().unwrap();
    let article = std::fs::read(ARTICLE).unwrap();
    let run = |extra: &[&str]| {
        let args = [
            &["translate", "-m", model, "-", "--format", "json"][..],
            extra,
        ]
        .concat();
        json(&saar(&args, &article, tmp.path()))
    };
    let greedy = run(&[]);
    assert_eq!(greedy["architecture"], "marian");
    let output = greedy["output"].as_str().unwrap();
    let tweet = "Metro phase 2 will transform daily travel for lakhs of commuters in Nagpur.";
    assert!(output.contains(tweet), "English kept verbatim: {output}");
    let pieces = greedy["pieces"].as_array().unwrap();
    let translated = pieces.iter().filter(|p| p["verbatim"] == false).count();
    assert!(translated >= 8, "each Hindi sentence translated: {greedy}");
    assert!(output.matches("\n\n").count() >= 4, "{output:?}");
    // Batching is an implementation detail: one sentence per batch gives the same text.
    let one_by_one = run(&["--batch-size", "1"]);
    assert_eq!(greedy["output"], one_by_one["output"]);
    let beam = run(&["--beams", "4"]);
    assert_eq!(beam["pieces"].as_array().unwrap().len(), pieces.len());
    assert!(beam["output"].as_str().unwrap().contains(tweet));
}

#[test]
fn split_counts_chunk_tokens_with_the_tokenizer_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_dir(tmp.path(), Arch::Qwen2, &Shape::tiny(Arch::Qwen2));
    // Counting tokens must not need (or download) the weights.
    std::fs::remove_file(model.join("model.safetensors")).unwrap();
    let args = [
        "split",
        "--chunks",
        "-m",
        model.to_str().unwrap(),
        "--max-tokens",
        "60",
        "--format",
        "json",
        ARTICLE,
    ];
    let report = json(&saar(&args, b"", tmp.path()));
    let chunks = report["chunks"].as_array().unwrap();
    assert!(chunks.len() > 1, "{report}");
    for chunk in chunks {
        let tokens = chunk["tokens"].as_u64().unwrap();
        assert!(tokens > 0 && tokens <= 60, "{chunk}");
    }
}

#[test]
fn threads_size_the_pool_and_verbose_names_the_model_files() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_gguf(tmp.path(), Arch::Qwen3, &Shape::tiny(Arch::Qwen3));
    let model = model.to_str().unwrap();
    let args = [
        "summarize",
        "-m",
        model,
        ARTICLE,
        "--max-new-tokens",
        "2",
        "-v",
    ];
    let flag = saar(&[&args[..], &["--threads", "3"]].concat(), b"", tmp.path());
    assert!(flag.status.success(), "{}", stderr(&flag));
    let said = stderr(&flag);
    assert!(said.contains("saar: 3 CPU threads"), "{said}");
    // Paths, not Rust debug text such as `Gguf("…")`.
    assert!(
        said.contains(&format!("saar: model {model}: {model}")),
        "{said}"
    );
    assert!(!said.contains("Gguf(") && !said.contains("Some("), "{said}");

    let env = std::process::Command::new(env!("CARGO_BIN_EXE_saar"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HF_HUB_CACHE", tmp.path())
        .env("HF_HOME", tmp.path())
        .env("SAAR_THREADS", "2")
        .output()
        .unwrap();
    assert!(
        stderr(&env).contains("saar: 2 CPU threads"),
        "{}",
        stderr(&env)
    );

    let zero = saar(&[&args[..], &["--threads", "0"]].concat(), b"", tmp.path());
    assert_eq!(zero.status.code(), Some(2), "{}", stderr(&zero));
    assert!(stderr(&zero).contains("--threads"));
}

/// A Qwen2 model with a 2048-token context, and the sample article `times` over.
fn small_context_model_and_long_article(root: &std::path::Path, times: usize) -> (String, String) {
    let mut shape = Shape::tiny(Arch::Qwen2);
    shape.context = 2048;
    let model = tiny_dir(root, Arch::Qwen2, &shape);
    let article = std::fs::read_to_string(ARTICLE).unwrap().repeat(times);
    (model.to_str().unwrap().to_string(), article)
}

/// `summarize -v --format json` of the sample article `times` over on that model: the
/// run, and the model path and the article.
fn summarize_long(
    root: &std::path::Path,
    times: usize,
    max_new: &str,
) -> (std::process::Output, [String; 2]) {
    let (model, article) = small_context_model_and_long_article(root, times);
    let output = saar(
        &summarize_long_args(&model, max_new),
        article.as_bytes(),
        root,
    );
    (output, [model, article])
}

/// `summarize -v --format json` of stdin on `model`, up to `max_new` tokens per call.
fn summarize_long_args<'a>(model: &'a str, max_new: &'a str) -> [&'a str; 9] {
    [
        "summarize",
        "-m",
        model,
        "-",
        "--max-new-tokens",
        max_new,
        "--format",
        "json",
        "-v",
    ]
}

#[test]
fn a_huge_text_is_announced_before_the_work_and_refused_above_max_chunks() {
    let tmp = tempfile::tempdir().unwrap();
    let (output, [model, article]) = summarize_long(tmp.path(), 16, "1");
    let record = json(&output);
    let chunks = record["chunks"].as_u64().unwrap();
    assert!(chunks >= 10, "{record}");
    let log = stderr(&output);
    let warning = format!(
        "saar: warning: a long text: {chunks} chunks, {} model calls at least",
        chunks + 1
    );
    let warned = log.find(&warning).unwrap_or_else(|| panic!("{log}"));
    assert!(warned < log.find("summarizing chunk 1/").unwrap(), "{log}");
    // Piped, the chunk progress bar draws nothing.
    assert!(!log.contains("saar: summarizing ["), "{log}");

    let limit = (chunks - 1).to_string();
    let refused = saar(
        &[
            "summarize",
            "-m",
            &model,
            "-",
            "--max-new-tokens",
            "1",
            "--max-chunks",
            &limit,
        ],
        article.as_bytes(),
        tmp.path(),
    );
    assert_one_line_error(&refused, &format!("needs {chunks} chunks"));
    assert!(stderr(&refused).contains(&format!("--max-chunks {limit}")));
    assert!(stdout(&refused).is_empty());
}

/// The terminal's chunk bar is drawn from these events (indicatif draws nothing when
/// stderr is not a terminal, which the test above checks): every chunk is counted, in
/// order, before the summary is written.
#[test]
fn a_long_summary_reports_chunks_done_out_of_all_before_its_output() {
    let tmp = tempfile::tempdir().unwrap();
    let (model, article) = small_context_model_and_long_article(tmp.path(), 3);
    let spec = saar::model::ModelSpec::parse(&model).unwrap();
    let files = saar::model::resolve(&spec, &saar::model::HubSettings::from_env()).unwrap();
    let placement = saar::engine::Placement {
        device: candle_core::Device::Cpu,
        dtype: None,
    };
    let prompts = saar::prompt::TaskPrompts::embedded();
    let mut loaded = saar::task::Model::load(files, &placement, prompts).unwrap();
    let prepared = saar::text::prepare(&article, saar::text::PrepareOptions::default());
    let mut generation = saar::task::defaults::generation();
    generation.max_new_tokens = 1;
    let settings = saar::task::TaskSettings::new(generation);
    let mut seen: Vec<String> = Vec::new();
    let record = loaded
        .summarize(&prepared, &settings, &mut |event| match event {
            saar::task::Event::Progress { done, total } => seen.push(format!("{done}/{total}")),
            saar::task::Event::Output(_) => seen.push("output".into()),
            _ => {}
        })
        .unwrap();
    let chunks = record.chunks.unwrap();
    assert!(chunks > 1);
    let expected: Vec<String> = (0..=chunks).map(|i| format!("{i}/{chunks}")).collect();
    let first_output = seen
        .iter()
        .position(|e| e == "output")
        .unwrap_or(seen.len());
    assert_eq!(seen[..first_output], expected[..], "{seen:?}");
}

#[test]
fn a_small_translation_budget_translates_whole_sentences_with_one_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_dir(tmp.path(), Arch::Qwen3, &Shape::tiny(Arch::Qwen3));
    let model = model.to_str().unwrap();
    // Long sentences with clause marks, which a budget of 4 tokens used to cut into
    // one- or two-word fragments.
    let article = "परियोजना की लागत का 20 प्रतिशत हिस्सा केंद्र सरकार, 20 प्रतिशत राज्य सरकार और बाकी हिस्सा बैंक देंगे। \
                   समिति ने कहा कि काम चार साल में पूरा होगा, और रोज़ाना करीब 3.5 लाख यात्री इस रूट का इस्तेमाल करेंगे।\n\n\
                   मंत्री ने बताया कि पहला स्टेशन अगले साल खुलेगा।\n";
    let sentences: Vec<String> = stdout(&saar(&["split", "-"], article.as_bytes(), tmp.path()))
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(sentences.len(), 3, "{sentences:?}");
    let args = [
        "translate",
        "-m",
        model,
        "-",
        "--max-new-tokens",
        "4",
        "--format",
        "json",
    ];
    let output = saar(&args, article.as_bytes(), tmp.path());
    let record = json(&output);
    let pieces = record["pieces"].as_array().unwrap();
    assert!(pieces.len() > 1, "{record}");
    for piece in pieces {
        let source = piece["source"].as_str().unwrap();
        let whole = sentences.iter().any(|s| source.starts_with(s.as_str()))
            && sentences.iter().any(|s| source.ends_with(s.as_str()));
        assert!(whole, "a fragment was translated: {source:?}");
    }
    assert!(
        record["calls"].as_u64().unwrap() <= sentences.len() as u64,
        "{record}"
    );
    let log = stderr(&output);
    assert_eq!(
        log.matches("saar: warning: --max-new-tokens 4").count(),
        1,
        "{log}"
    );
}
