//! Two or more models over a folder of articles, with the library API only: summarize
//! every article with each model (one loaded at a time) and print the per-model table.
//! Runs are kept under the temp folder, so a rerun only runs models it has not seen.
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
use saar::task::compare::{self, CompareTask, Comparison, Progress, RunCache};

fn main() -> common::AnyResult<()> {
    let (folder, names) = common::folder_and_models(std::env::args().skip(1).collect());
    let documents = compare::read_documents(&[folder])?;
    let models = common::model_files(&names, &[Arch::Qwen3, Arch::Llama])?;
    let task = CompareTask::summarize(if names.is_empty() { 8 } else { 256 });
    let placement = Placement {
        device: candle_core::Device::Cpu,
        dtype: None,
    };
    // Each model's run is kept as a batch output file: run the example again with one
    // more model and only that model runs.
    let cache = RunCache {
        dir: std::env::temp_dir().join("saar-compare-models-runs"),
        force: false,
        // An LLM's articles decode together, as many as the KV budget holds (at most 8).
        batching: Some(saar::engine::SchedulerOptions {
            max_sequences: 0,
            ..Default::default()
        }),
    };
    let mut runs = Vec::new();
    for files in models {
        let name = files.name.clone();
        eprintln!("{name}");
        // A model is loaded only when some article is not in its earlier run.
        let cached = compare::run_cached(
            files,
            &placement,
            TaskPrompts::embedded(),
            &documents,
            &task,
            &cache,
            &mut |event| {
                let Progress::Document { id, index, total } = event;
                eprintln!("  {}/{total}: {id}", index + 1);
            },
        )?;
        eprintln!(
            "  {} run, {} reused from {}",
            cached.ran,
            cached.reused,
            cached.path.display()
        );
        runs.push(cached.run);
    }
    let comparison = Comparison::new(&task, documents, runs);
    print!("{}", comparison.markdown_table());
    Ok(())
}
