//! Many sequences decoded together. Decoding one token reads every weight once; one
//! token of each of N sequences in the same forward reads them once too, so a batched
//! step turns the memory-bound decode toward the throughput of prefill.
//!
//! - [`BatchedLm`]: a model that runs segments of many sequences in one forward, each
//!   sequence with a [`SequenceCache`] of its own.
//! - [`Scheduler`]: continuous batching over a `BatchedLm`: sequences join at a step
//!   boundary, leave as they finish, and sample and stop exactly as [`generate`] does.
//! - [`BatchHandle`]: a thread that owns a `Scheduler`, shared by many callers.
//! - [`SequenceSink`]: where a sequence's tokens and its end go (a channel for a server).
//!
//! [`generate`]: crate::engine::generate()

mod budget;
mod scheduler;
mod shared;
mod sink;

pub use budget::{
    default_kv_budget_bytes, KvBudget, MAX_DEFAULT_SEQUENCES, TYPICAL_SEQUENCE_POSITIONS,
};
pub use scheduler::{PrefillPolicy, Scheduler, SchedulerOptions, SequenceId, StepReport};
pub(crate) use shared::stopped as batch_stopped;
pub use shared::{BatchHandle, BatchObserver, BatchState, BatchThreadOptions, BatchedSequence};
pub use sink::{ChannelSink, SequenceEvent, SequenceSink};

use candle_core::Tensor;

use super::kv_cache::KvCache;
use super::{EngineError, ModelInfo};

/// One sequence's keys and values, one [`KvCache`] per attention layer, and how many
/// positions it has run.
#[derive(Debug, Clone)]
pub struct SequenceCache {
    pub(crate) layers: Vec<KvCache>,
    pub(crate) positions: usize,
}

impl SequenceCache {
    pub(crate) fn new(layers: Vec<KvCache>) -> Self {
        Self {
            layers,
            positions: 0,
        }
    }

    /// Positions run so far; the next token takes this position.
    pub fn positions(&self) -> usize {
        self.positions
    }

    /// Says the sequence will reach `positions` positions (its prompt's end), so each
    /// layer's cache allocates room for them at once instead of growing chunk by chunk.
    pub(crate) fn expect(&mut self, positions: usize) {
        for layer in &mut self.layers {
            layer.expect(positions);
        }
    }
}

/// Tokens of one sequence in a batched forward, run after the positions its cache holds.
pub struct Segment<'a> {
    pub cache: &'a mut SequenceCache,
    pub ids: &'a [u32],
    /// Whether the logits of the last id are wanted (not for a prompt's earlier chunks).
    pub wants_logits: bool,
}

/// A decoder that runs many sequences in one forward.
pub trait BatchedLm: Send {
    /// An empty cache for a new sequence.
    fn new_sequence(&self) -> SequenceCache;
    /// Runs each segment's ids after its cached positions, all rows through the weights
    /// together, and returns the logits `(wanted, vocab)` in f32 of the segments that
    /// want them, in order (`None` when none does). On an error the segments' caches
    /// may hold part of the step: drop them.
    fn forward_batch(
        &mut self,
        segments: &mut [Segment<'_>],
    ) -> Result<Option<Tensor>, EngineError>;
    /// The most bytes the KV caches of one sequence of `positions` positions take.
    fn kv_bytes(&self, positions: usize) -> usize;
    /// Bytes one more position adds to a sequence's KV caches (every layer, keys and
    /// values, in the cache's stored type).
    fn kv_bytes_per_token(&self) -> usize;
    fn info(&self) -> &ModelInfo;
}
