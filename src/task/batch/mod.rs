//! The library side of `saar batch`: finding the documents of a corpus, splitting it
//! into shards, an output file of JSON lines that survives crashes and resumes where
//! it stopped, and the driver that runs the documents through a loaded model (shared
//! by `saar batch` and `saar compare`).

mod abort_hook;
mod input;
mod job;
mod marian;
mod output;
mod parallel;
mod record;
mod run;
mod shard;

pub use abort_hook::TEST_ABORT_EXIT_CODE;
pub(crate) use input::file_id;
pub use input::{discover, duplicate_ids, Document, DocumentBody};
pub use job::{BatchJob, BatchPlan, BatchTask, ModelIdentity, Pending};
pub use output::{read_records, BatchOutput, Resumed};
pub use record::{content_hash, settings_hash, RecordKey};
pub use run::{BatchEvent, RecordSink, Tally};
pub use shard::{shard_of, Shard};

use std::path::PathBuf;

/// What can stop a batch run as a whole (a single bad document never does).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("input {} does not exist: check the path", path.display())]
    InputNotFound { path: PathBuf },
    // I/O errors are part of the messages, not separate causes: printed with its
    // causes, an error would say the same thing twice.
    #[error("cannot read {}: {error}; check that it is readable", path.display())]
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{name} line {line} is not a JSON object with string fields \"id\" and \"text\": {reason}"
    )]
    BadJsonl {
        name: String,
        line: usize,
        reason: String,
    },
    #[error("another saar batch is writing this output (lock {} is held): wait for it, or choose another --out", path.display())]
    Locked { path: PathBuf },
    #[error("cannot write {}: {error}; check the disk and permissions", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{} line {line} is not a saar batch record: {reason}; move the file away or rerun with --force to start over", path.display())]
    CorruptOutput {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error(transparent)]
    Unsupported(#[from] crate::task::TaskError),
    #[error("--shard {0}: expected K/N with 0 <= K < N, e.g. 0/4")]
    BadShard(String),
}
