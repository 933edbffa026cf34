//! Two or more models over a folder of articles, with the library API only: summarize
//! every article with each model (one loaded at a time) and print the per-model table.
//!
//! ```text
//! cargo run --example compare_models -- [FOLDER] [MODEL MODEL …]
//! cargo run --release --example compare_models -- examples/articles qwen3-1.7b qwen2.5-1.5b
//! ```
//! Without models it builds two tiny random ones, so it runs offline (noise outputs).

#[path = "common/mod.rs"]
mod common;

use saar::engine::Placement;
use saar::prompt::TaskPrompts;
use saar::synth::Arch;
use saar::task::compare::{self, CompareTask, Comparison, Progress};
use saar::task::LlmSession;

fn main() -> common::AnyResult<()> {
    let (folder, names) = common::folder_and_models(std::env::args().skip(1).collect());
    let documents = compare::read_documents(&[folder])?;
    let models = common::model_files(&names, &[Arch::Qwen3, Arch::Llama])?;
    let task = CompareTask::summarize(if names.is_empty() { 8 } else { 256 });
    let placement = Placement {
        device: candle_core::Device::Cpu,
        dtype: None,
    };
    let mut runs = Vec::new();
    for files in models {
        eprintln!("loading {}", files.name);
        // The session is dropped before the next model loads: one in memory at a time.
        let mut session = LlmSession::load(files, &placement, TaskPrompts::embedded())?;
        let run = compare::run_model(&mut session, &documents, &task, &mut |event| {
            let Progress::Document { id, index, total } = event;
            eprintln!("  {}/{total}: {id}", index + 1);
        })?;
        runs.push(run);
    }
    let comparison = Comparison::new(&task, documents, runs);
    print!("{}", comparison.markdown_table());
    Ok(())
}
