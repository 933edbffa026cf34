//! Summarizes every article of a folder with one model, with the library API only,
//! and lists the numbers and dates in each summary that its article does not support.
//!
//! ```text
//! cargo run --example summarize_folder -- [FOLDER] [MODEL]
//! cargo run --release --example summarize_folder -- examples/articles qwen3-1.7b
//! ```
//! Without a model it builds a tiny random one, so it runs offline (noise summaries).

#[path = "common/mod.rs"]
mod common;

use saar::engine::Placement;
use saar::prompt::{Length, TaskPrompts};
use saar::synth::Arch;
use saar::task::compare;
use saar::task::{Model, TaskSettings};
use saar::text::{prepare, PrepareOptions};

fn main() -> common::AnyResult<()> {
    let (folder, names) = common::folder_and_models(std::env::args().skip(1).collect());
    let documents = compare::read_documents(&[folder])?;
    let Some(files) = common::model_files(&names, &[Arch::Qwen3])?
        .into_iter()
        .next()
    else {
        return Err("no model".into());
    };
    let placement = Placement {
        device: candle_core::Device::Cpu,
        dtype: None,
    };
    let mut model = Model::load(files, &placement, TaskPrompts::embedded())?;
    let settings = TaskSettings {
        length: Length::Short,
        check: true,
        ..TaskSettings::new(compare::greedy_settings(if names.is_empty() {
            12
        } else {
            256
        }))
    };
    for document in &documents {
        let article = prepare(&document.source, PrepareOptions::default());
        let summary = model.summarize(&article, &settings, &mut |_| {})?;
        println!("## {}\n\n{}\n", document.id, summary.output);
        let findings = summary.check.unwrap_or_default();
        if findings.is_empty() {
            println!("number check: every number and date is in the article\n");
        }
        for finding in findings {
            println!("- untraced: {finding}");
        }
        println!(
            "({} tokens in, {} out, {:.1} tok/s decode)\n",
            summary.usage.prompt_tokens,
            summary.usage.generated_tokens,
            summary.usage.decode_tokens_per_sec()
        );
    }
    Ok(())
}
