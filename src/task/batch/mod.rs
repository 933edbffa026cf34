//! The library side of `saar batch`: finding the documents of a corpus, splitting it
//! into shards, and an output file of JSON lines that survives crashes and resumes
//! where it stopped. The CLI drives the model; this module owns what makes a long
//! unattended run safe.

mod input;
mod output;
mod record;
mod shard;

pub use input::{discover, duplicate_ids, Document, DocumentBody};
pub use output::{BatchOutput, Resumed};
pub use record::{content_hash, settings_hash, RecordKey};
pub use shard::{shard_of, Shard};

use std::path::PathBuf;

/// What can stop a batch run as a whole (a single bad document never does).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("input {} does not exist: check the path", path.display())]
    InputNotFound { path: PathBuf },
    #[error("cannot read {}: {source}; check that it is readable", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
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
    #[error("cannot write {}: {source}; check the disk and permissions", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} line {line} is not a saar batch record: {reason}; move the file away or rerun with --force to start over", path.display())]
    CorruptOutput {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("--shard {0}: expected K/N with 0 <= K < N, e.g. 0/4")]
    BadShard(String),
}
