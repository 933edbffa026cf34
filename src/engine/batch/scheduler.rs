//! Continuous batching: sequences are submitted at any time, join the running batch at
//! the next step once the KV budget has room, and leave as they finish. Each step is
//! one [`BatchedLm::forward_batch`]: one token of every decoding sequence, plus (as
//! [`PrefillPolicy`] says) a chunk of a joining sequence's prompt. Sampling and stops
//! are [`SequenceSampler`]'s, the same as the one-sequence loop's.

use std::collections::VecDeque;
use std::time::Instant;

use super::{BatchedLm, KvBudget, Segment, SequenceCache, SequenceSink};
use crate::engine::generate::{check_prompt, SequenceSampler};
use crate::engine::llm::PREFILL_CHUNK;
use crate::engine::{CausalLm, EngineError, Generation, GenerationSettings, StopReason};

/// Names a submitted sequence, for [`Scheduler::cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SequenceId(pub u64);

/// Where a joining sequence's prompt runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefillPolicy {
    /// A prompt chunk shares a step with the decoding sequences' tokens: one weight
    /// pass serves both.
    Shared,
    /// A step with a prompt chunk runs only that chunk; decoding waits.
    Alone,
}

#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Sequences decoded together at most; 0: as many as the KV budget holds of a
    /// typical length ([`KvBudget::default_sequences`]).
    pub max_sequences: usize,
    /// KV cache budget for all sequences in flight; `None`: [`KvBudget::from_mib`]'s default.
    pub kv_cache_mib: Option<usize>,
    pub prefill: PrefillPolicy,
}

impl Default for SchedulerOptions {
    /// A joining prompt's chunk shares a step with the decoding rows: they ride on its
    /// weight pass and keep streaming instead of waiting out each 128-token chunk.
    /// The quantized kernels give a row the same bits at any row count
    /// (`kernels::quant::row_tests`), so a sequence decodes as it does alone either way.
    /// Throughput is the same within noise: `saar batch --parallel 4` over 8 articles
    /// (random 0.5B Q4_K_M, 32 new tokens, 2 threads, a shared EPYC of family 23) took
    /// 277.7 and 350.4 s shared, 337.7 and 293.3 s alone, the same 8 summaries; the
    /// decode passes sharing saves are about 1% of such a run, which prefill dominates.
    fn default() -> Self {
        Self {
            max_sequences: 8,
            kv_cache_mib: None,
            prefill: PrefillPolicy::Shared,
        }
    }
}

/// What one [`Scheduler::step`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Sequences that fed one generated token.
    pub decoded: usize,
    /// Prompt tokens run.
    pub prefill_tokens: usize,
    /// Sequences that ended in this step (cancelled ones included).
    pub finished: usize,
    /// Sequences the step's forward ran (decoding or prefilling).
    pub sequences: usize,
}

struct Sequence {
    id: SequenceId,
    prompt: Vec<u32>,
    /// Prompt tokens already in the cache.
    fed: usize,
    cache: Option<SequenceCache>,
    sampler: SequenceSampler,
    sink: Box<dyn SequenceSink>,
    /// Bytes of the KV budget held while running.
    charge: usize,
    cancelled: bool,
    prefill_start: Option<Instant>,
    prefill_secs: f64,
    decode_start: Option<Instant>,
}

impl Sequence {
    fn prefilled(&self) -> bool {
        self.fed == self.prompt.len()
    }

    fn finish(mut self, outcome: Result<StopReason, EngineError>) {
        let decode_secs = self
            .decode_start
            .map_or(0.0, |start| start.elapsed().as_secs_f64());
        let prompt_tokens = self.prompt.len();
        let prefill_secs = self.prefill_secs;
        let mut sink = self.sink;
        self.cache = None;
        sink.finish(outcome.map(|stop| Generation {
            tokens: self.sampler.into_tokens(),
            prompt_tokens,
            prefill_secs,
            decode_secs,
            stop,
        }));
    }
}

/// Owns a model and decodes every submitted sequence, many per step.
pub struct Scheduler {
    model: Box<dyn CausalLm>,
    options: SchedulerOptions,
    budget: KvBudget,
    /// Bytes charged to the running sequences.
    reserved: usize,
    waiting: VecDeque<Sequence>,
    running: Vec<Sequence>,
    next_id: u64,
}

impl Scheduler {
    /// A scheduler over `model`, or [`EngineError::NotBatched`] for a model that cannot
    /// run many sequences at once.
    pub fn new(
        mut model: Box<dyn CausalLm>,
        options: SchedulerOptions,
    ) -> Result<Self, EngineError> {
        if model.batched().is_none() {
            return Err(EngineError::NotBatched {
                architecture: model.info().architecture.clone(),
            });
        }
        let budget = KvBudget::from_mib(options.kv_cache_mib);
        let max_sequences = match (options.max_sequences, model.batched()) {
            (0, Some(batched)) => budget.default_sequences(batched),
            (given, _) => given,
        };
        Ok(Self {
            model,
            budget,
            options: SchedulerOptions {
                max_sequences,
                ..options
            },
            reserved: 0,
            waiting: VecDeque::new(),
            running: Vec::new(),
            next_id: 0,
        })
    }

    fn batched(&mut self) -> &mut dyn BatchedLm {
        self.model
            .batched()
            .expect("Scheduler::new checked that the model batches")
    }

    /// Queues a sequence; it joins at a later [`step`](Self::step). Errors when the
    /// prompt is empty, too long for the context or not of this model's vocabulary, or
    /// when the sequence alone would not fit the KV budget.
    pub fn submit(
        &mut self,
        prompt: Vec<u32>,
        settings: &GenerationSettings,
        sink: Box<dyn SequenceSink>,
    ) -> Result<SequenceId, EngineError> {
        let budget = self.budget;
        let model = self.batched();
        let info = model.info();
        let (context, vocab) = (info.context_length, info.vocab_size);
        if prompt.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        check_prompt(&prompt, context)?;
        if let Some(&id) = prompt.iter().find(|&&id| id as usize >= vocab) {
            return Err(EngineError::TokenOutOfRange { id, vocab });
        }
        let charge = budget.charge(model, prompt.len(), settings.max_new_tokens)?;
        let id = SequenceId(self.next_id);
        self.next_id += 1;
        self.waiting.push_back(Sequence {
            id,
            sampler: SequenceSampler::new(&prompt, settings, context),
            prompt,
            fed: 0,
            cache: None,
            sink,
            charge,
            cancelled: false,
            prefill_start: None,
            prefill_secs: 0.0,
            decode_start: None,
        });
        Ok(id)
    }

    /// Stops a sequence at the next step boundary (it ends as [`StopReason::Stopped`]
    /// with the tokens it has). `false` when no such sequence is in flight.
    pub fn cancel(&mut self, id: SequenceId) -> bool {
        let sequence = self.waiting.iter_mut().chain(self.running.iter_mut());
        match sequence.into_iter().find(|s| s.id == id) {
            Some(sequence) => {
                sequence.cancelled = true;
                true
            }
            None => false,
        }
    }

    /// Whether nothing is waiting or running.
    pub fn is_idle(&self) -> bool {
        self.waiting.is_empty() && self.running.is_empty()
    }

    /// Sequences decoding or prefilling now.
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// Sequences decoded together at most.
    pub fn max_sequences(&self) -> usize {
        self.options.max_sequences
    }

    /// Sequences submitted that have not joined yet.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// The KV budget in bytes, and what one position of one sequence takes of it.
    pub fn kv_budget(&mut self) -> (usize, usize) {
        let per_token = self.batched().kv_bytes_per_token();
        (self.budget.bytes, per_token)
    }

    /// The model, for one-sequence work between batches.
    pub fn model(&mut self) -> &mut dyn CausalLm {
        self.model.as_mut()
    }

    pub fn into_model(self) -> Box<dyn CausalLm> {
        self.model
    }

    /// Steps until every submitted sequence has ended.
    pub fn run_until_idle(&mut self) {
        while !self.is_idle() {
            self.step();
        }
    }

    /// Ends cancelled sequences, admits waiting ones while the budget allows, and runs
    /// one forward over the running ones. Errors end the sequences of the step, through
    /// their sinks; the scheduler goes on with the rest.
    pub fn step(&mut self) -> StepReport {
        let mut report = StepReport {
            finished: self.end_cancelled(),
            ..StepReport::default()
        };
        self.admit();
        let plan = self.plan();
        if plan.iter().all(Option::is_none) {
            return report;
        }
        report.sequences = plan.iter().flatten().count();
        let started = Instant::now();
        let outcome = {
            let mut segments = Vec::new();
            for (sequence, ids) in self.running.iter_mut().zip(&plan) {
                if let (Some((ids, wants_logits)), Some(cache)) = (ids, sequence.cache.as_mut()) {
                    segments.push(Segment {
                        cache,
                        ids,
                        wants_logits: *wants_logits,
                    });
                }
            }
            let model = self
                .model
                .batched()
                .expect("Scheduler::new checked that the model batches");
            model.forward_batch(&mut segments)
        };
        let logits = match outcome {
            Ok(logits) => logits,
            Err(err) => {
                let message = err.to_string();
                let failed: Vec<usize> = (0..plan.len()).filter(|&i| plan[i].is_some()).collect();
                report.finished += failed.len();
                for i in failed.into_iter().rev() {
                    let sequence = self.remove(i);
                    let error = EngineError::BatchStep {
                        message: message.clone(),
                    };
                    sequence.finish(Err(error));
                }
                return report;
            }
        };
        let mut row = 0;
        let mut ended = Vec::new();
        for (i, ids) in plan.iter().enumerate() {
            let Some((ids, wants_logits)) = ids else {
                continue;
            };
            let sequence = &mut self.running[i];
            if !sequence.prefilled() {
                sequence.fed += ids.len();
                report.prefill_tokens += ids.len();
                if sequence.prefilled() {
                    let start = sequence.prefill_start.unwrap_or(started);
                    sequence.prefill_secs = start.elapsed().as_secs_f64();
                    sequence.decode_start = Some(Instant::now());
                }
            } else {
                report.decoded += 1;
            }
            if !wants_logits {
                continue;
            }
            let Some(logits) = logits.as_ref() else {
                continue;
            };
            let next = logits
                .get(row)
                .map_err(EngineError::from)
                .and_then(|logits| {
                    let sink = &mut sequence.sink;
                    sequence
                        .sampler
                        .next(&logits, &mut |token| sink.token(token))
                });
            row += 1;
            match next {
                Ok(None) => {}
                Ok(Some(stop)) => ended.push((i, Ok(stop))),
                Err(err) => ended.push((i, Err(err))),
            }
        }
        report.finished += ended.len();
        for (i, outcome) in ended.into_iter().rev() {
            self.remove(i).finish(outcome);
        }
        report
    }

    /// Ends every cancelled sequence, waiting or running; how many ended.
    fn end_cancelled(&mut self) -> usize {
        let mut ended = 0;
        for i in (0..self.running.len()).rev() {
            if self.running[i].cancelled {
                self.remove(i).finish(Ok(StopReason::Stopped));
                ended += 1;
            }
        }
        let (cancelled, kept): (Vec<_>, Vec<_>) = self
            .waiting
            .drain(..)
            .partition(|sequence| sequence.cancelled);
        self.waiting = kept.into();
        for sequence in cancelled {
            sequence.finish(Ok(StopReason::Stopped));
            ended += 1;
        }
        ended
    }

    /// Moves waiting sequences into the batch, in order, while there is room.
    fn admit(&mut self) {
        while let Some(next) = self.waiting.front() {
            let fits = self.reserved + next.charge <= self.budget.bytes;
            if self.running.len() >= self.options.max_sequences || !fits {
                break;
            }
            let Some(mut sequence) = self.waiting.pop_front() else {
                break;
            };
            let mut cache = self.batched().new_sequence();
            cache.expect(sequence.prompt.len());
            sequence.cache = Some(cache);
            self.reserved += sequence.charge;
            self.running.push(sequence);
        }
    }

    /// Per running sequence, the ids it runs this step and whether it wants their
    /// logits: its last sampled token, or a chunk of its prompt.
    fn plan(&mut self) -> Vec<Option<(Vec<u32>, bool)>> {
        let prefilling = self.running.iter().position(|s| !s.prefilled());
        let decode = match (prefilling, self.options.prefill) {
            (Some(_), PrefillPolicy::Alone) => false,
            _ => true,
        };
        let mut plan: Vec<Option<(Vec<u32>, bool)>> = self
            .running
            .iter()
            .map(|s| (decode && s.prefilled()).then(|| (vec![s.sampler.last()], true)))
            .collect();
        if let Some(i) = prefilling {
            let sequence = &mut self.running[i];
            let end = (sequence.fed + PREFILL_CHUNK).min(sequence.prompt.len());
            let chunk = sequence.prompt[sequence.fed..end].to_vec();
            sequence.prefill_start.get_or_insert_with(Instant::now);
            plan[i] = Some((chunk, end == sequence.prompt.len()));
        }
        plan
    }

    fn remove(&mut self, index: usize) -> Sequence {
        let sequence = self.running.remove(index);
        self.reserved -= sequence.charge;
        sequence
    }
}
