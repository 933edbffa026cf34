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
use saar::prompt::{Lang, Length, TaskPrompts};
use saar::score::check_numbers;
use saar::synth::Arch;
use saar::task::compare;
use saar::task::{summarize, LlmSession, SummarizeSettings};

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
    let mut session = LlmSession::load(files, &placement, TaskPrompts::embedded())?;
    let mut settings = SummarizeSettings {
        lang: Lang::En,
        length: Length::Short,
        generation: compare::greedy_settings(if names.is_empty() { 12 } else { 256 }),
    };
    settings.generation.eos_token_ids = session.tokenizer().eos_token_ids().to_vec();
    for document in &documents {
        let summary = summarize(&mut session, &document.source, &settings, &mut |_| {})?;
        println!("## {}\n\n{}\n", document.id, summary.text);
        let findings = check_numbers(&document.source, &summary.text);
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
