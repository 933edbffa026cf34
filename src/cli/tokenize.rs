//! `saar tokenize`: a text's token ids under a model's tokenizer, loading nothing
//! but the tokenizer (a vocab-only GGUF works). For counting tokens, debugging
//! prompts, and comparing with `llama-tokenize`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::json;

use saar::model::tokenizer::ModelTokenizer;

use super::options::{resolve_tokenizer, OutputFormat};

/// Print the token ids of texts under a model's tokenizer.
#[derive(Debug, Args)]
pub struct TokenizeArgs {
    /// The text, byte for byte (a trailing newline counts): UTF-8 files, or `-` for
    /// standard input. Each file's ids go on a line of their own.
    #[arg(value_name = "FILE", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Model whose tokenizer to use (a preset, hub id, local directory or .gguf file).
    #[arg(long, short = 'm', env = "SAAR_MODEL")]
    pub model: String,
    /// Never use the network: load from the Hugging Face cache only.
    #[arg(long)]
    pub offline: bool,
    /// Leave out the special tokens the tokenizer adds (such as BOS); special tokens
    /// written in the text are still recognised.
    #[arg(long)]
    pub no_special: bool,
    /// `text`: the ids on one line; `json`: `{"ids": [...], "pieces": [...]}`.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

pub fn run(args: &TokenizeArgs) -> anyhow::Result<ExitCode> {
    let texts = args
        .inputs
        .iter()
        .map(|path| read_text(path))
        .collect::<anyhow::Result<Vec<String>>>()?;
    let files = resolve_tokenizer(&args.model, args.offline)?;
    let tokenizer = ModelTokenizer::load(&files)?;
    let mut out = std::io::stdout().lock();
    for text in &texts {
        let ids = tokenizer.encode(text, !args.no_special)?;
        match args.format {
            OutputFormat::Text => {
                let line: Vec<String> = ids.iter().map(u32::to_string).collect();
                writeln!(out, "{}", line.join(" "))?;
            }
            OutputFormat::Json => {
                let pieces: Vec<Option<String>> = ids
                    .iter()
                    .map(|id| tokenizer.inner().id_to_token(*id))
                    .collect();
                serde_json::to_writer(&mut out, &json!({"ids": ids, "pieces": pieces}))?;
                writeln!(out)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The text exactly as given: no trimming, no cleaning, empty allowed.
pub fn read_text(path: &Path) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    let name = if path == Path::new("-") {
        std::io::stdin().lock().read_to_end(&mut bytes)?;
        "standard input".to_string()
    } else {
        bytes = std::fs::read(path)
            .with_context(|| format!("cannot read {}; check the path", path.display()))?;
        path.display().to_string()
    };
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{name} is not UTF-8 text (invalid byte at offset {}); convert it to UTF-8 first",
            e.utf8_error().valid_up_to()
        )
    })
}
