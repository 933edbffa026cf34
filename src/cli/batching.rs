//! `--parallel` and `--kv-cache-mib`: how many sequences an LLM decodes together in one
//! batch, for the commands that run many at once (`serve`, `batch`, `compare`).

use anyhow::bail;
use clap::Args;

use saar::engine::batch::{MAX_DEFAULT_SEQUENCES, TYPICAL_SEQUENCE_POSITIONS};
use saar::engine::SchedulerOptions;
use saar::task::Model;

/// Sequences decoded together.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Batching")]
pub struct BatchingOptions {
    /// Sequences an LLM decodes together in one batch (requests, documents, a long
    /// article's chunks); 1 runs one at a time. Default: as many sequences of 4096
    /// positions as --kv-cache-mib holds, at most 8. Translation models ignore it.
    #[arg(long, env = "SAAR_PARALLEL", value_name = "N")]
    pub parallel: Option<usize>,
    /// MiB of KV cache the sequences in flight may hold together; each is charged for
    /// its prompt plus --max-new-tokens. Default: a quarter of the memory the system
    /// has available, between 256 MiB and 8 GiB.
    #[arg(long, env = "SAAR_KV_CACHE_MIB", value_name = "MIB")]
    pub kv_cache_mib: Option<usize>,
}

// The help above states these numbers.
const _: () = assert!(TYPICAL_SEQUENCE_POSITIONS == 4096 && MAX_DEFAULT_SEQUENCES == 8);

impl BatchingOptions {
    /// The scheduler's options, or `None` when sequences run one at a time.
    pub fn scheduler(&self) -> anyhow::Result<Option<SchedulerOptions>> {
        if self.parallel == Some(0) {
            bail!("--parallel must be at least 1 (1 runs one sequence at a time)");
        }
        if self.kv_cache_mib == Some(0) {
            bail!("--kv-cache-mib must be at least 1; leave it out for the default");
        }
        if self.parallel == Some(1) {
            return Ok(None);
        }
        Ok(Some(SchedulerOptions {
            max_sequences: self.parallel.unwrap_or(0),
            kv_cache_mib: self.kv_cache_mib,
            ..SchedulerOptions::default()
        }))
    }
}

/// `model` on a batching thread of `scheduler`, or as it is when `None` (or when it
/// cannot batch: a translation model).
pub fn share(model: Model, scheduler: Option<SchedulerOptions>) -> anyhow::Result<Model> {
    let Some(scheduler) = scheduler else {
        return Ok(model);
    };
    Ok(model.share(scheduler.into())?)
}
