//! Many sequences decoded together by the [`Scheduler`] give what each gives alone:
//! every family, safetensors and GGUF, saar's kernels and candle's path, with prompts
//! of different lengths joining and leaving at different steps; and through a
//! [`BatchHandle`] shared by threads.

use std::sync::mpsc;

use super::*;
use crate::engine::batch::{
    BatchHandle, BatchThreadOptions, BatchedSequence, ChannelSink, PrefillPolicy, SequenceEvent,
};
use crate::engine::kernels::{with_backend, Backend};
use crate::engine::{
    generate, Generation, GenerationSettings, Scheduler, SchedulerOptions, StopReason,
};
use crate::synth::{Arch, GgufQuant, Shape};

/// One sequence of a test: its prompt and settings.
struct Request {
    prompt: Vec<u32>,
    settings: GenerationSettings,
}

/// Prompts of 5, 17, 3, 140 (two prefill chunks) and 9 tokens with their own token
/// budgets, so sequences join and leave at different steps.
fn requests(vocab: usize, temperature: f64) -> Vec<Request> {
    let lengths = [(5, 12), (17, 6), (3, 20), (140, 8), (9, 15)];
    lengths
        .iter()
        .enumerate()
        .map(|(i, &(len, new))| {
            let prompt = (0..len as u32)
                .map(|t| (t * 37 + 11 * i as u32 + 3) % vocab as u32)
                .collect();
            let settings = GenerationSettings {
                temperature,
                top_p: (temperature > 0.0).then_some(0.9),
                seed: 40 + i as u64,
                ..GenerationSettings::greedy(new)
            };
            Request { prompt, settings }
        })
        .collect()
}

fn alone(model: &mut dyn CausalLm, requests: &[Request]) -> Vec<Generation> {
    requests
        .iter()
        .map(|r| generate(model, &r.prompt, &r.settings, &mut |_| true).unwrap())
        .collect()
}

/// Runs `requests` through a scheduler of `options`; each sequence's streamed tokens,
/// checked against its final generation, and the most sequences that ran at once.
fn together(
    model: Box<dyn CausalLm>,
    requests: &[Request],
    options: SchedulerOptions,
) -> (Vec<Generation>, usize, Box<dyn CausalLm>) {
    let mut scheduler = Scheduler::new(model, options).unwrap();
    let (sender, receiver) = mpsc::channel();
    for (i, r) in requests.iter().enumerate() {
        let sink = ChannelSink {
            tag: i,
            sender: sender.clone(),
        };
        scheduler
            .submit(r.prompt.clone(), &r.settings, Box::new(sink))
            .unwrap();
    }
    let mut most = 0;
    while !scheduler.is_idle() {
        scheduler.step();
        most = most.max(scheduler.running());
    }
    drop(sender);
    let mut streamed = vec![Vec::new(); requests.len()];
    let mut ends: Vec<Option<Generation>> = (0..requests.len()).map(|_| None).collect();
    for (i, event) in receiver {
        match event {
            SequenceEvent::Token(t) => streamed[i].push(t),
            SequenceEvent::Finished(outcome) => ends[i] = Some(outcome.unwrap()),
        }
    }
    let ends: Vec<Generation> = ends.into_iter().map(Option::unwrap).collect();
    for (end, streamed) in ends.iter().zip(&streamed) {
        assert_eq!(&end.tokens, streamed, "the sink saw every token");
    }
    (ends, most, scheduler.into_model())
}

fn options(max_sequences: usize, prefill: PrefillPolicy) -> SchedulerOptions {
    SchedulerOptions {
        max_sequences,
        kv_cache_mib: Some(64),
        prefill,
    }
}

/// Every model the tests cover, by name: the tiny safetensors families (gemma3 with
/// global and sliding layers, window 4) and synth's GGUF files of each architecture in
/// F16, Q8_0 and Q4_K_M (gemma3 sliding over 8 positions).
fn models() -> Vec<(String, tempfile::TempDir, ModelFiles)> {
    let mut out = Vec::new();
    for family in FAMILIES {
        let (dir, files) = tiny_model(family);
        out.push((format!("{family:?} safetensors"), dir, files));
    }
    for arch in Arch::ALL {
        for quant in [GgufQuant::F16, GgufQuant::Q8_0, GgufQuant::Q4KM] {
            let shape = match arch {
                Arch::Gemma3 => Shape {
                    sliding_window: Some(8),
                    ..Shape::tiny(arch)
                },
                _ => Shape::tiny(arch),
            };
            let (dir, files) = gguf_model(&shape, quant, 9);
            out.push((format!("{arch:?} gguf {}", quant.name()), dir, files));
        }
    }
    // Rows long enough that kernels rounding differently at different row counts
    // would show (`shared_steps`).
    for quant in [GgufQuant::Q8_0, GgufQuant::Q4KM] {
        let (dir, files) = gguf_model(&wide_small_blocks(Arch::Qwen2), quant, 9);
        out.push((format!("Qwen2 gguf {} 320 wide", quant.name()), dir, files));
    }
    out
}

#[test]
fn greedy_sequences_decoded_together_equal_each_decoded_alone() {
    for backend in [Backend::Saar, Backend::Candle] {
        for (name, _dir, files) in models() {
            let mut model = with_backend(backend, || load_cpu(&files)).unwrap();
            let requests = requests(model.info().vocab_size, 0.0);
            let want = alone(model.as_mut(), &requests);
            let mut model = Some(model);
            for (max, prefill) in [(3, PrefillPolicy::Shared), (5, PrefillPolicy::Alone)] {
                let options = options(max, prefill);
                let (got, most, back) = together(model.take().unwrap(), &requests, options);
                model = Some(back);
                assert_eq!(most, max, "{name}: up to {max} sequences ran at once");
                for (i, (got, want)) in got.iter().zip(&want).enumerate() {
                    assert_eq!(
                        (&got.tokens, got.stop),
                        (&want.tokens, want.stop),
                        "{name} on {backend:?}, {prefill:?}, sequence {i}"
                    );
                }
            }
        }
    }
}

#[test]
fn sampled_sequences_are_reproducible_and_as_alone() {
    let (_dir, files) = tiny_model(Family::Qwen3);
    let mut model = load_cpu(&files).unwrap();
    let greedy = requests(128, 0.0);
    let requests = requests(model.info().vocab_size, 0.9);
    let want = alone(model.as_mut(), &requests);
    let (first, _, model) = together(model, &requests, options(4, PrefillPolicy::Shared));
    let (second, _, _) = together(model, &requests, options(4, PrefillPolicy::Shared));
    let (_dir2, files2) = tiny_model(Family::Qwen3);
    let greedy_tokens = alone(load_cpu(&files2).unwrap().as_mut(), &greedy);
    for i in 0..requests.len() {
        assert_eq!(first[i].tokens, second[i].tokens, "sequence {i} reproduces");
        assert_eq!(first[i].tokens, want[i].tokens, "sequence {i} as alone");
    }
    assert!(
        (0..requests.len()).any(|i| first[i].tokens != greedy_tokens[i].tokens),
        "temperature 0.9 should leave the greedy path somewhere"
    );
}

#[test]
fn a_sequence_that_fills_the_context_ends_alone() {
    let (_dir, mut files) = tiny_model(Family::Llama);
    files.context_length = Some(30);
    let mut model = load_cpu(&files).unwrap();
    let mut requests = requests(128, 0.0);
    requests.retain(|r| r.prompt.len() < 30);
    requests[0].settings.max_new_tokens = 100;
    let want = alone(model.as_mut(), &requests);
    assert_eq!(want[0].stop, StopReason::ContextFull);
    let (got, _, _) = together(model, &requests, options(4, PrefillPolicy::Shared));
    assert_eq!(got[0].stop, StopReason::ContextFull);
    // Positions 0..30 are fed; the token sampled from the last one is kept, as alone.
    assert_eq!(got[0].tokens.len() + requests[0].prompt.len(), 31);
    for (got, want) in got.iter().zip(&want) {
        assert_eq!((&got.tokens, got.stop), (&want.tokens, want.stop));
    }
    assert!(got[1..].iter().all(|g| g.stop == StopReason::MaxNewTokens));
}

#[test]
fn the_kv_budget_bounds_sequences_in_flight_and_refuses_one_that_cannot_fit() {
    let (_dir, files) = tiny_model(Family::Qwen2);
    let model = load_cpu(&files).unwrap();
    let mut scheduler = Scheduler::new(model, options(8, PrefillPolicy::Shared)).unwrap();
    let (budget, per_token) = scheduler.kv_budget();
    // 3 layers × keys and values × 2 KV heads × 16 dims × 4 bytes (an f32 cache).
    assert_eq!((budget, per_token), (64 << 20, 3 * 2 * 2 * 16 * 4));
    let settings = GenerationSettings::greedy(8);
    let (sender, receiver) = mpsc::channel();
    let sink = |tag: usize| {
        Box::new(ChannelSink {
            tag,
            sender: sender.clone(),
        })
    };
    // Each sequence is charged for 3 + 8 positions and 256 spare ones per layer:
    // 3 × 2 × 267 × 2 × 16 × 4 bytes, about 200 KiB.
    let model = scheduler.into_model();
    let tight = SchedulerOptions {
        kv_cache_mib: Some(0),
        ..options(8, PrefillPolicy::Shared)
    };
    let mut scheduler = Scheduler::new(model, tight).unwrap();
    let refused = scheduler.submit(vec![1, 2, 3], &settings, sink(0));
    assert!(
        matches!(refused, Err(EngineError::KvBudget { budget_mib: 0, .. })),
        "{refused:?}"
    );
    // A budget of 1 MiB holds five such sequences, though eight are allowed.
    let roomy = SchedulerOptions {
        kv_cache_mib: Some(1),
        ..options(8, PrefillPolicy::Shared)
    };
    let mut scheduler = Scheduler::new(scheduler.into_model(), roomy).unwrap();
    for i in 0..7 {
        let prompt = vec![1, 2, 3 + i as u32];
        scheduler.submit(prompt, &settings, sink(i)).unwrap();
    }
    let mut most = 0;
    while !scheduler.is_idle() {
        scheduler.step();
        most = most.max(scheduler.running());
    }
    assert_eq!(most, 5);
    // Left to the budget, the sequences in flight are as many as it holds of 4096
    // positions, or the whole context when shorter (2048 here; with the 256 spare, about
    // 1.7 MiB each), 1 to 8.
    let mut model = scheduler.into_model();
    for (mib, sequences) in [(1, 1), (10, 5), (64, 8)] {
        let auto = SchedulerOptions {
            kv_cache_mib: Some(mib),
            ..options(0, PrefillPolicy::Shared)
        };
        let scheduler = Scheduler::new(model, auto).unwrap();
        assert_eq!(scheduler.max_sequences(), sequences, "{mib} MiB");
        model = scheduler.into_model();
    }
    drop(sender);
    let finished = receiver
        .iter()
        .filter(|(_, e)| matches!(e, SequenceEvent::Finished(Ok(_))))
        .count();
    assert_eq!(finished, 7);
}

#[test]
fn cancelled_and_disconnected_sequences_stop_and_the_others_finish() {
    let (_dir, files) = tiny_model(Family::Gemma3);
    let mut model = load_cpu(&files).unwrap();
    let requests = requests(128, 0.0);
    let want = alone(model.as_mut(), &requests);
    let mut scheduler = Scheduler::new(model, options(8, PrefillPolicy::Shared)).unwrap();
    let (sender, receiver) = mpsc::channel();
    let mut ids = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let sink = ChannelSink {
            tag: i,
            sender: sender.clone(),
        };
        ids.push(
            scheduler
                .submit(r.prompt.clone(), &r.settings, Box::new(sink))
                .unwrap(),
        );
    }
    // Sequence 4's reader hangs up at once: its first token finds nobody to take it.
    let (gone, hung_up) = mpsc::channel();
    drop(hung_up);
    let sink = ChannelSink {
        tag: 9,
        sender: gone,
    };
    scheduler
        .submit(vec![4, 5, 6], &requests[0].settings, Box::new(sink))
        .unwrap();
    for _ in 0..3 {
        scheduler.step();
    }
    assert!(scheduler.cancel(ids[2]));
    scheduler.run_until_idle();
    assert!(!scheduler.cancel(ids[2]), "a finished sequence is gone");
    drop(sender);
    let mut ends = std::collections::HashMap::new();
    for (i, event) in receiver {
        if let SequenceEvent::Finished(outcome) = event {
            ends.insert(i, outcome.unwrap());
        }
    }
    assert_eq!(ends.len(), requests.len());
    assert_eq!(ends[&2].stop, StopReason::Stopped);
    assert!(want[2].tokens.starts_with(&ends[&2].tokens));
    for i in [0, 1, 3, 4] {
        assert_eq!(ends[&i].tokens, want[i].tokens, "sequence {i}");
    }
}

/// The tokens of one sequence of a [`BatchHandle`], checked against its end.
fn read(sequence: &BatchedSequence) -> Generation {
    let mut tokens = Vec::new();
    loop {
        match sequence.events().recv().unwrap() {
            SequenceEvent::Token(token) => tokens.push(token),
            SequenceEvent::Finished(outcome) => {
                let generation = outcome.unwrap();
                assert_eq!(generation.tokens, tokens, "the channel saw every token");
                return generation;
            }
        }
    }
}

#[test]
fn a_batch_handle_shared_by_threads_decodes_each_sequence_as_alone() {
    let (_dir, files) = tiny_model(Family::Qwen2);
    let mut model = load_cpu(&files).unwrap();
    let requests = requests(model.info().vocab_size, 0.0);
    let want = alone(model.as_mut(), &requests);
    let handle = BatchHandle::spawn(
        model,
        BatchThreadOptions {
            hold_first_step: true,
            ..options(3, PrefillPolicy::Shared).into()
        },
    )
    .unwrap();
    assert_eq!(handle.max_sequences(), 3);
    let refused = handle.submit(Vec::new(), &requests[0].settings);
    assert!(matches!(refused, Err(EngineError::EmptyPrompt)));
    // Cancelled while its batch is held: it ends with no token, and the batch goes on.
    let cancelled = handle.submit(vec![1, 2], &requests[0].settings).unwrap();
    cancelled.cancel();
    let got: Vec<Generation> = std::thread::scope(|scope| {
        let runs: Vec<_> = (requests.iter())
            .map(|r| {
                let sequence = handle.submit(r.prompt.clone(), &r.settings).unwrap();
                scope.spawn(move || read(&sequence))
            })
            .collect();
        handle.release_step();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    let stopped = read(&cancelled);
    assert_eq!(
        (stopped.tokens.len(), stopped.stop),
        (0, StopReason::Stopped)
    );
    for (i, (got, want)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            (&got.tokens, got.stop),
            (&want.tokens, want.stop),
            "sequence {i}"
        );
    }
}
