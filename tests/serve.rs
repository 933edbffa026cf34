//! `saar serve` end to end: the real binary on 127.0.0.1 (a port the system picks),
//! tiny models the tests build, and a real HTTP client. Waits are on events (a line
//! on the server's stderr, a FIFO the worker reads before each request, a condition
//! on /metrics), never on fixed sleeps.

#[path = "serve/server.rs"]
mod server;
#[path = "cli/support.rs"]
#[allow(dead_code)]
mod support;

use std::io::{BufRead, BufReader, Read};

use saar::synth::{Arch, Shape};
use serde_json::{json, Value};
use server::{Server, ServerOptions};
use support::*;

const TIMING_FIELDS: [&str; 6] = [
    "prefill_secs",
    "decode_secs",
    "prefill_tokens_per_sec",
    "decode_tokens_per_sec",
    "elapsed_secs",
    "created",
];

/// `value` without the fields that measure time.
fn untimed(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        for field in TIMING_FIELDS {
            map.remove(field);
        }
    }
    value
}

fn chat_body(content: &str, max_tokens: usize, stream: bool) -> Value {
    json!({
        "messages": [{"role": "system", "content": "Answer in English."},
                     {"role": "user", "content": content}],
        "max_tokens": max_tokens, "temperature": 0, "stream": stream,
        "stream_options": {"include_usage": true},
    })
}

/// Reads an SSE body into its `data:` payloads, up to and including `[DONE]`.
fn sse_data(reader: impl Read) -> Vec<String> {
    let mut data = Vec::new();
    for line in BufReader::new(reader).lines() {
        let line = line.expect("read the stream");
        if let Some(payload) = line.strip_prefix("data: ") {
            data.push(payload.to_string());
            if payload == "[DONE]" {
                break;
            }
        }
    }
    data
}

#[test]
fn chat_completions_plain_and_streamed_agree_with_the_library() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_dir(tmp.path(), Arch::Qwen3, &Shape::tiny(Arch::Qwen3));
    let model = model.to_str().unwrap();
    let server = Server::start(tmp.path(), &[model], ServerOptions::default());

    let plain = server.post_json(
        "/v1/chat/completions",
        &chat_body("मेट्रो कब खुलेगी?", 8, false),
    );
    assert_eq!(plain["object"], "chat.completion");
    assert_eq!(plain["model"], model);
    let content = plain["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    let usage = &plain["usage"];
    assert_eq!(
        usage["total_tokens"],
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
    );

    // The same request through the library, as the CLI's commands run it.
    let files = saar::model::resolve(
        &saar::model::ModelSpec::parse(model).unwrap(),
        &saar::model::HubSettings::from_env(),
    )
    .unwrap();
    let placement = saar::engine::Placement {
        device: candle_core::Device::Cpu,
        dtype: None,
    };
    let mut local =
        saar::task::Model::load(files, &placement, saar::prompt::TaskPrompts::embedded()).unwrap();
    let mut generation = saar::task::defaults::generation();
    generation.max_new_tokens = 8;
    let messages = [
        saar::prompt::Message::system("Answer in English."),
        saar::prompt::Message::user("मेट्रो कब खुलेगी?"),
    ];
    let done = local
        .chat(
            &messages,
            &saar::task::TaskSettings::new(generation),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(content, done.text);
    assert_eq!(usage["completion_tokens"], done.usage.generated_tokens);

    let response = server.post("/v1/chat/completions", &chat_body("मेट्रो कब खुलेगी?", 8, true));
    assert_eq!(response.content_type(), "text/event-stream");
    let events = sse_data(response.into_reader());
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let streamed: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(streamed.trim(), content);
    let finish = chunks
        .iter()
        .find(|c| !c["choices"][0]["finish_reason"].is_null())
        .unwrap();
    assert_eq!(
        finish["choices"][0]["finish_reason"],
        plain["choices"][0]["finish_reason"]
    );
    assert_eq!(chunks.last().unwrap()["usage"], plain["usage"]);
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk"));

    // Raw completions take no chat template: the prompt is continued as it is.
    let raw = server.post_json(
        "/v1/completions",
        &json!({"prompt": "मेट्रो", "max_tokens": 4, "temperature": 0}),
    );
    assert_eq!(raw["object"], "text_completion");
    assert!(raw["choices"][0]["text"].is_string());
    assert_eq!(
        raw["usage"]["completion_tokens"].as_u64().unwrap() <= 4,
        true
    );

    let models = server.get_json("/v1/models");
    assert_eq!(models["data"][0]["id"], model);
}

#[test]
fn summarize_and_translate_routes_return_the_cli_records() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_dir(tmp.path(), Arch::Gemma3, &Shape::tiny(Arch::Gemma3));
    let model = model.to_str().unwrap();
    let article = std::fs::read_to_string(ARTICLE).unwrap();
    let server = Server::start(tmp.path(), &[model], ServerOptions::default());
    // Translation needs a budget that holds a whole sentence: a short text keeps it quick.
    let short = "मंत्रिमंडल ने परियोजना को मंजूरी दी।\n\nThe metro will open next year.\n";
    let cases = [
        ("summarize", article.as_str(), "8"),
        ("translate", short, "64"),
    ];
    for (task, text, max_new) in cases {
        let mut args = vec![
            task,
            "-m",
            model,
            "-",
            "--max-new-tokens",
            max_new,
            "--format",
            "json",
        ];
        if task == "summarize" {
            args.push("--check");
        }
        let cli = untimed(json(&saar(&args, text.as_bytes(), tmp.path())));
        let max_new: usize = max_new.parse().unwrap();
        let body = json!({"text": text, "max_new_tokens": max_new, "check": task == "summarize"});
        let served = untimed(server.post_json(&format!("/v1/{task}"), &body));
        assert_eq!(served, cli, "{task}");
        // Streamed: the pieces, then the same record.
        let mut streamed = body.clone();
        streamed["stream"] = true.into();
        let events = sse_data(server.post(&format!("/v1/{task}"), &streamed).into_reader());
        let record: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
        assert_eq!(untimed(record), cli, "{task} streamed");
    }
}

#[test]
fn sixteen_concurrent_clients_each_get_their_own_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_gguf(tmp.path(), Arch::Llama, &Shape::tiny(Arch::Llama));
    let server = Server::start(
        tmp.path(),
        &[model.to_str().unwrap()],
        ServerOptions::default(),
    );
    let questions: Vec<String> = (0..16).map(|i| format!("प्रश्न {i}: बजट कितना है?")).collect();
    let answer = |server: &Server, q: &str| {
        server.post_json("/v1/chat/completions", &chat_body(q, 6, false))["choices"][0]["message"]
            ["content"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let alone: Vec<String> = questions.iter().map(|q| answer(&server, q)).collect();
    let together: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = questions
            .iter()
            .map(|q| scope.spawn(|| answer(&server, q)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(together, alone);
}

#[test]
fn concurrent_requests_join_one_batched_step_and_answer_as_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_dir(tmp.path(), Arch::Qwen3, &Shape::tiny(Arch::Qwen3));
    let options = ServerOptions {
        batch_gate: true,
        extra: vec!["--parallel", "4", "--kv-cache-mib", "64"],
        ..ServerOptions::default()
    };
    let server = Server::start(tmp.path(), &[model.to_str().unwrap()], options);
    let questions = ["बजट?", "मेट्रो कब खुलेगी?", "बारिश कितनी हुई?", "एक"];
    let answer = |server: &Server, q: &str| {
        let mut reply = server.post_json("/v1/chat/completions", &chat_body(q, 10, false));
        reply.as_object_mut().unwrap().remove("id");
        untimed(reply)
    };
    let alone: Vec<Value> = (questions.iter())
        .map(|q| {
            server.open_batch_gate();
            answer(&server, q)
        })
        .collect();
    assert_eq!(server.metric("saar_batch_max_sequences{"), 1.0);
    // Prompts shorter than a prefill chunk join one per step, so all meet in one step
    // when none ends within as many tokens.
    for reply in &alone {
        let tokens = reply["usage"]["completion_tokens"].as_u64().unwrap();
        assert!(tokens >= questions.len() as u64, "precondition: {reply}");
    }
    let together: Vec<Value> = std::thread::scope(|scope| {
        let runs: Vec<_> = (questions.iter())
            .map(|q| scope.spawn(|| answer(&server, q)))
            .collect();
        server.wait_for_metric("saar_batch_waiting{", "4");
        server.open_batch_gate();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    assert_eq!(together, alone);
    assert_eq!(server.metric("saar_batch_max_sequences{"), 4.0);
}

#[test]
fn a_full_queue_answers_429_and_both_held_requests_finish() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_dir(tmp.path(), Arch::Qwen2, &Shape::tiny(Arch::Qwen2));
    let options = ServerOptions {
        gate: true,
        extra: vec!["--max-queue", "1"],
        ..ServerOptions::default()
    };
    let server = Server::start(tmp.path(), &[model.to_str().unwrap()], options);
    std::thread::scope(|scope| {
        let first =
            scope.spawn(|| server.post_json("/v1/chat/completions", &chat_body("एक", 4, false)));
        server.wait_for_metric("saar_running{", "1");
        let second =
            scope.spawn(|| server.post_json("/v1/chat/completions", &chat_body("दो", 4, false)));
        server.wait_for_metric("saar_queue_depth{", "1");
        let (status, headers, body) = server.post_raw(
            "/v1/chat/completions",
            &chat_body("तीन", 4, false).to_string(),
            None,
        );
        assert_eq!(status, 429);
        assert_eq!(headers.get("retry-after").map(String::as_str), Some("1"));
        assert_eq!(body["error"]["code"], "queue_full");
        server.open_gate();
        server.open_gate();
        for handle in [first, second] {
            assert_eq!(handle.join().unwrap()["object"], "chat.completion");
        }
    });
}

#[test]
fn a_client_that_hangs_up_mid_stream_frees_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_dir(tmp.path(), Arch::Qwen3, &Shape::tiny(Arch::Qwen3));
    let server = Server::start(
        tmp.path(),
        &[model.to_str().unwrap()],
        ServerOptions::default(),
    );
    // Precondition: this model runs to the length limit, so only a hang-up ends it early.
    let long = 3000;
    let probe = server.post_json("/v1/chat/completions", &chat_body("लंबा उत्तर", 64, false));
    assert_eq!(probe["choices"][0]["finish_reason"], "length", "{probe}");
    let before = server.metric("saar_completion_tokens_total{") as u64;

    let response = server.post("/v1/chat/completions", &chat_body("लंबा उत्तर", long, true));
    let mut reader = BufReader::new(response.into_reader());
    let mut seen = 0;
    let mut line = String::new();
    while seen < 3 {
        line.clear();
        reader.read_line(&mut line).unwrap();
        seen += usize::from(line.starts_with("data: "));
    }
    drop(reader);
    // The next request is answered, and the abandoned one stopped far short of its limit.
    let next = server.post_json("/v1/chat/completions", &chat_body("अगला", 4, false));
    assert_eq!(next["object"], "chat.completion");
    server.wait_for_metric("saar_cancelled_total{", "1");
    let spent = server.metric("saar_completion_tokens_total{") as u64 - before;
    let next_tokens = next["usage"]["completion_tokens"].as_u64().unwrap();
    assert!(
        spent - next_tokens < long as u64 / 2,
        "the hung-up stream ran on: {spent} tokens"
    );
}

#[test]
fn bad_requests_get_openai_style_errors_with_the_right_status() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_dir(tmp.path(), Arch::Qwen3, &Shape::tiny(Arch::Qwen3));
    let options = ServerOptions {
        api_key: Some("s3cret-key"),
        extra: vec!["--max-body", "4096"],
        ..ServerOptions::default()
    };
    let server = Server::start(tmp.path(), &[model.to_str().unwrap()], options);
    let key = Some("s3cret-key");
    let cases: Vec<(&str, String, Option<&str>, u16, &str)> = vec![
        (
            "/v1/chat/completions",
            "{not json".into(),
            key,
            400,
            "invalid_request",
        ),
        (
            "/v1/chat/completions",
            json!({"messages": []}).to_string(),
            key,
            400,
            "invalid_request",
        ),
        (
            "/v1/chat/completions",
            json!({"messages": [{"role": "user", "content": "x"}], "temperature": -1}).to_string(),
            key,
            400,
            "invalid_request",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "nope", "messages": [{"role": "user", "content": "x"}]}).to_string(),
            key,
            404,
            "not_found",
        ),
        (
            "/v1/summarize",
            json!({"text": "x".repeat(5000)}).to_string(),
            key,
            413,
            "body_too_large",
        ),
        (
            "/v1/summarize",
            json!({"text": "  \n "}).to_string(),
            key,
            422,
            "unprocessable_input",
        ),
        (
            "/v1/translate",
            json!({"text": "abc\u{0}\u{0}def"}).to_string(),
            key,
            422,
            "unprocessable_input",
        ),
        ("/v1/nowhere", "{}".into(), key, 404, "not_found"),
        (
            "/v1/chat/completions",
            json!({"messages": [{"role": "user", "content": "x"}]}).to_string(),
            None,
            401,
            "invalid_api_key",
        ),
        (
            "/v1/chat/completions",
            json!({"messages": [{"role": "user", "content": "x"}]}).to_string(),
            Some("wrong"),
            401,
            "invalid_api_key",
        ),
    ];
    for (route, body, key, status, code) in cases {
        let (got, _, error) = server.post_raw(route, &body, key);
        assert_eq!(got, status, "{route} {body}: {error}");
        assert_eq!(error["error"]["code"], code, "{route} {body}");
        assert!(error["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        assert!(error["error"]["type"].is_string());
    }
    // Health needs no key; everything else does.
    assert_eq!(server.get_status("/health", None), 200);
    assert_eq!(server.get_status("/metrics", None), 401);
    assert_eq!(server.get_status("/metrics", key), 200);
    assert!(!server.stderr_so_far().contains("s3cret-key"));
}

#[test]
fn a_translation_model_refuses_to_summarize_with_a_typed_error() {
    let tmp = tempfile::tempdir().unwrap();
    let marian = marian_copy(tmp.path());
    let marian = marian.to_str().unwrap();
    let server = Server::start(tmp.path(), &[marian], ServerOptions::default());
    let (status, _, error) = server.post_raw(
        "/v1/summarize",
        &json!({"text": "यह एक वाक्य है।"}).to_string(),
        None,
    );
    assert_eq!(status, 400);
    assert_eq!(
        error["error"]["message"],
        format!("{marian} is a translation model; it cannot summarize: use a language model for that (e.g. -m qwen3-1.7b)")
    );
    let translated = server.post_json("/v1/translate", &json!({"text": "यह एक वाक्य है।"}));
    assert_eq!(translated["architecture"], "marian");
}

#[test]
fn sigterm_during_a_stream_ends_it_cleanly_and_exits_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_dir(tmp.path(), Arch::Qwen3, &Shape::tiny(Arch::Qwen3));
    let options = ServerOptions {
        extra: vec!["--shutdown-grace", "0"],
        ..ServerOptions::default()
    };
    let mut server = Server::start(tmp.path(), &[model.to_str().unwrap()], options);
    let response = server.post("/v1/chat/completions", &chat_body("लंबा उत्तर", 3000, true));
    let mut reader = BufReader::new(response.into_reader());
    let mut line = String::new();
    while !line.starts_with("data: ") {
        line.clear();
        reader.read_line(&mut line).unwrap();
    }
    server.terminate();
    let rest = sse_data(reader);
    assert_eq!(rest.last().map(String::as_str), Some("[DONE]"));
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "{}", server.stderr_so_far());
    assert!(server.stderr_so_far().contains("saar: stopped"));
}
