//! The memory the KV caches of the sequences in flight may take: set (`kv_cache_mib`)
//! or derived from the memory the system has free, and charged per sequence for the
//! most positions it can reach (prompt + max new tokens, within the context).

use super::BatchedLm;
use crate::engine::EngineError;

const MIB: usize = 1 << 20;

/// Bytes of KV cache the sequences in flight may hold together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvBudget {
    pub bytes: usize,
}

impl KvBudget {
    /// `mib` MiB, or [`default_kv_budget_bytes`] when `None`.
    pub fn from_mib(mib: Option<usize>) -> Self {
        Self {
            bytes: mib.map_or_else(default_kv_budget_bytes, |mib| mib.saturating_mul(MIB)),
        }
    }

    /// What one sequence of `prompt` tokens and `max_new_tokens` more is charged, or
    /// the error when it alone cannot fit.
    pub fn charge(
        &self,
        model: &dyn BatchedLm,
        prompt: usize,
        max_new_tokens: usize,
    ) -> Result<usize, EngineError> {
        let positions = (prompt + max_new_tokens).min(model.info().context_length);
        let bytes = model.kv_bytes(positions);
        if bytes > self.bytes {
            return Err(EngineError::KvBudget {
                needed_mib: bytes.div_ceil(MIB),
                budget_mib: self.bytes / MIB,
            });
        }
        Ok(bytes)
    }
}

/// The positions of the sequence [`KvBudget::default_sequences`] counts with: a
/// document of about 3,500 tokens and its answer.
pub const TYPICAL_SEQUENCE_POSITIONS: usize = 4096;

/// The most sequences [`KvBudget::default_sequences`] gives: past this, on a CPU, a
/// step's rows no longer come for nearly free.
pub const MAX_DEFAULT_SEQUENCES: usize = 8;

impl KvBudget {
    /// How many sequences of [`TYPICAL_SEQUENCE_POSITIONS`] (or the whole context, when
    /// shorter) the budget holds together, 1 to [`MAX_DEFAULT_SEQUENCES`].
    pub fn default_sequences(&self, model: &dyn BatchedLm) -> usize {
        let positions = TYPICAL_SEQUENCE_POSITIONS.min(model.info().context_length);
        let one = model.kv_bytes(positions).max(1);
        (self.bytes / one).clamp(1, MAX_DEFAULT_SEQUENCES)
    }
}

/// A quarter of the memory the system reports available (Linux `MemAvailable`),
/// between 256 MiB and 8 GiB; 1 GiB where it reports none.
pub fn default_kv_budget_bytes() -> usize {
    let available = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
            let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        });
    match available {
        Some(bytes) => (bytes / 4).clamp(256 * MIB, 8192 * MIB),
        None => 1024 * MIB,
    }
}
