//! Tasks through a shared (batched) model: a model moved onto a batching thread and
//! driven by many threads, each with a fork, answers exactly as the model alone does
//! (greedy), and the sequences really ran in one batch together. Stop strings and a
//! long article's map phase included.

#[path = "cli/support.rs"]
#[allow(dead_code)]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use saar::engine::batch::{BatchState, BatchThreadOptions};
use saar::engine::{Placement, SchedulerOptions};
use saar::prompt::Message;
use saar::synth::{Arch, Shape};
use saar::task::{Completion, Model, Record, TaskSettings};
use support::*;

fn load(dir: &std::path::Path) -> Model {
    let spec = saar::model::ModelSpec::parse(dir.to_str().unwrap()).unwrap();
    let files = saar::model::resolve(&spec, &saar::model::HubSettings::from_env()).unwrap();
    let placement = Placement {
        device: candle_core::Device::Cpu,
        dtype: None,
    };
    Model::load(files, &placement, saar::prompt::TaskPrompts::embedded()).unwrap()
}

/// A shared model of `parallel` sequences whose first step waits for a release, and
/// the most sequences any step ran; `waiting` hears each count of sequences waiting.
fn shared(model: Model, parallel: usize) -> (Model, Arc<AtomicUsize>, mpsc::Receiver<usize>) {
    let most = Arc::new(AtomicUsize::new(0));
    let (waiting, waits) = mpsc::channel();
    let seen = most.clone();
    let options = BatchThreadOptions {
        scheduler: SchedulerOptions {
            max_sequences: parallel,
            kv_cache_mib: Some(64),
            ..SchedulerOptions::default()
        },
        observer: Some(Box::new(move |state: &BatchState| {
            if let Some(step) = state.step {
                seen.fetch_max(step.sequences, Ordering::SeqCst);
            }
            let _ = waiting.send(state.waiting);
        })),
        hold_first_step: true,
    };
    (model.share(options).unwrap(), most, waits)
}

/// Releases the held first step once `count` sequences wait to join.
fn release_when_waiting(model: &Model, waits: &mpsc::Receiver<usize>, count: usize) {
    while waits.recv().unwrap() < count {}
    model.batch().unwrap().release_step();
}

fn settings(max_new_tokens: usize, stop: &[&str]) -> TaskSettings {
    let mut generation = saar::task::defaults::generation();
    generation.max_new_tokens = max_new_tokens;
    let mut settings = TaskSettings::new(generation);
    settings.stop.strings = stop.iter().map(|s| s.to_string()).collect();
    settings
}

/// What must agree between two completions: all but the times.
fn untimed(c: &Completion) -> impl PartialEq + std::fmt::Debug {
    let u = &c.usage;
    let counts = (u.calls, u.prompt_tokens, u.generated_tokens);
    (
        c.text.clone(),
        c.finish,
        c.prompt_ids.clone(),
        c.output_ids.clone(),
        counts,
    )
}

#[test]
fn forks_of_a_shared_model_answer_as_the_model_alone_in_one_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tiny_dir(tmp.path(), Arch::Qwen3, &Shape::tiny(Arch::Qwen3));
    let mut alone_model = load(&dir);
    let questions = [
        "बजट कितना है?",
        "मेट्रो कब खुलेगी?",
        "बारिश",
        "एक लंबा प्रश्न: नगर निगम ने क्या किया?",
    ];
    let chat = |model: &mut Model, q: &str, settings: &TaskSettings| {
        let messages = [Message::system("Answer in English."), Message::user(q)];
        model.chat(&messages, settings, &mut |_| {}).unwrap()
    };
    let plain = settings(12, &[]);
    let alone: Vec<Completion> = questions
        .iter()
        .map(|q| chat(&mut alone_model, q, &plain))
        .collect();
    // A stop string from inside the first answer: the batched sequence runs past it
    // before it is cancelled, and must still end where the lone one did.
    let cut: String = alone[0].text.chars().skip(3).take(2).collect();
    assert!(!cut.trim().is_empty(), "precondition: {:?}", alone[0].text);
    let stopping = settings(12, &[cut.as_str()]);
    let alone_stopped = chat(&mut alone_model, questions[0], &stopping);
    assert_eq!(alone_stopped.finish, saar::task::Finish::StopString);
    let (plain, stopping) = (&plain, &stopping);

    // The prompts are shorter than a prefill chunk, so sequence i joins at step i + 1:
    // all of them meet in one step if none ends within as many tokens.
    for lone in &alone {
        assert!(
            lone.usage.generated_tokens >= questions.len(),
            "precondition: {lone:?}"
        );
    }
    let (model, most, waits) = shared(load(&dir), 8);
    let together: Vec<Completion> = std::thread::scope(|scope| {
        let runs: Vec<_> = (questions.iter())
            .map(|q| {
                let mut fork = model.fork().unwrap();
                scope.spawn(move || chat(&mut fork, q, plain))
            })
            .collect();
        release_when_waiting(&model, &waits, questions.len());
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    for (batched, lone) in together.iter().zip(&alone) {
        assert_eq!(untimed(batched), untimed(lone));
    }
    assert_eq!(
        most.load(Ordering::SeqCst),
        questions.len(),
        "all in one step"
    );

    // The stopped sequence beside another one: the next batch starts at once.
    model.batch().unwrap().release_step();
    let (stopped, other) = std::thread::scope(|scope| {
        let mut fork = model.fork().unwrap();
        let stopped = scope.spawn(move || chat(&mut fork, questions[0], stopping));
        let mut fork = model.fork().unwrap();
        let other = scope.spawn(move || chat(&mut fork, questions[1], plain));
        (stopped.join().unwrap(), other.join().unwrap())
    });
    assert_eq!(untimed(&stopped), untimed(&alone_stopped), "stop string");
    assert_eq!(untimed(&other), untimed(&alone[1]));
}

#[test]
fn a_long_articles_chunks_are_summarized_together_with_the_same_record() {
    let tmp = tempfile::tempdir().unwrap();
    let mut shape = Shape::tiny(Arch::Qwen2);
    shape.context = 1024;
    let dir = tiny_dir(tmp.path(), Arch::Qwen2, &shape);
    let article = std::fs::read_to_string(ARTICLE).unwrap().repeat(3);
    let prepared = saar::text::prepare(&article, saar::text::PrepareOptions::default());
    let settings = settings(8, &[]);
    let summarize = |model: &mut Model| -> Record {
        model.summarize(&prepared, &settings, &mut |_| {}).unwrap()
    };
    let alone = summarize(&mut load(&dir));
    let chunks = alone.chunks.unwrap();
    assert!(
        chunks > 2,
        "precondition: a map phase of several chunks: {chunks}"
    );

    let (mut model, most, waits) = shared(load(&dir), 4);
    let release = model.fork().unwrap();
    let batched = std::thread::scope(|scope| {
        let run = scope.spawn(|| summarize(&mut model));
        release_when_waiting(&release, &waits, chunks.min(4));
        // Later rounds (a chunk joining an emptied batch, the combine) start at once.
        for _ in 0..chunks + 4 {
            release.batch().unwrap().release_step();
        }
        run.join().unwrap()
    });
    let json = |record: &Record| {
        let mut value = serde_json::to_value(record).unwrap();
        for field in [
            "prefill_secs",
            "decode_secs",
            "prefill_tokens_per_sec",
            "decode_tokens_per_sec",
            "elapsed_secs",
        ] {
            value.as_object_mut().unwrap().remove(field);
        }
        value
    };
    assert_eq!(json(&batched), json(&alone));
    // Each chunk's prompt takes several prefill steps, which run one sequence's at a
    // time, so the first chunk decodes beside the second's prefill.
    assert!(most.load(Ordering::SeqCst) >= 2, "the chunks ran together");
}
