//! What `summarize` and `translate` share: reading and preparing the article,
//! resolving and loading the model, streaming output and printing the record.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use saar::task::{Event, Model, Usage};
use saar::text::{self, PrepareOptions, Prepared};

use super::options::ModelOptions;

/// The article and how it is cleaned.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Input")]
pub struct ArticleOptions {
    /// The article: a UTF-8 text file, or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub input: PathBuf,
    /// Keep scraped-news boilerplate (browser notices, "also read" links, tweet footers).
    #[arg(long)]
    pub keep_boilerplate: bool,
}

impl ArticleOptions {
    /// Reads, normalizes and cleans the article; `--verbose` lists what was removed.
    pub fn read(&self, verbose: bool) -> anyhow::Result<Prepared> {
        let raw = text::read_input(&self.input)?;
        let prepared = text::prepare(
            &raw,
            PrepareOptions {
                normalize: true,
                clean: !self.keep_boilerplate,
            },
        );
        if verbose {
            for removed in &prepared.removed {
                eprintln!("saar: removed {removed}");
            }
        }
        Ok(prepared)
    }
}

/// `--show-prompt`, for the commands that run an article through a model.
#[derive(Debug, Clone, Args)]
pub struct ShowPromptOption {
    /// Print the exact input of the first model call and exit without running the model:
    /// an LLM's prompt through its chat template, special tokens included (a long
    /// article's first chunk); a translation model's first sentence as it reads it.
    /// With --format json: one object with `prompt` and `prompt_ids`.
    #[arg(long, help_heading = "Output")]
    pub show_prompt: bool,
}

/// `--show-prompt`: loads no LLM weights, renders the first call of `task` on
/// `prepared` as the task itself would, prints it and ends.
pub fn show_prompt(
    task: saar::task::TaskKind,
    files: saar::model::ModelFiles,
    model: &ModelOptions,
    placement: &saar::engine::Placement,
    prepared: &Prepared,
    settings: &saar::task::TaskSettings,
    format: super::options::OutputFormat,
) -> anyhow::Result<std::process::ExitCode> {
    let name = files.name.clone();
    let loaded = Model::prompt_only(files, placement, model.task_prompts()?)
        .with_context(|| format!("loading model `{name}`"))?;
    let mut sink = StdoutSink::new(false, false);
    let first = loaded.first_prompt(task, prepared, settings, &mut |e| sink.event(e))?;
    sink.finish()?;
    let Some(first) = first else {
        eprintln!("saar: no model call: nothing in the text needs the model");
        return Ok(std::process::ExitCode::SUCCESS);
    };
    if format == super::options::OutputFormat::Json {
        print_json(&first)?;
    } else {
        // Exactly the prompt: a newline the template did not write would not be in it.
        let mut out = std::io::stdout().lock();
        out.write_all(first.prompt.as_bytes())?;
        out.flush()?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Resolves `--model`, saying which files were found under `--verbose`.
pub fn resolve_verbose(
    model: &ModelOptions,
    verbose: bool,
) -> anyhow::Result<saar::model::ModelFiles> {
    resolve_verbose_for(model, saar::task::TaskKind::Chat, verbose)
}

/// [`resolve_verbose`] with `task`'s default model where `--model` is not given.
pub fn resolve_verbose_for(
    model: &ModelOptions,
    task: saar::task::TaskKind,
    verbose: bool,
) -> anyhow::Result<saar::model::ModelFiles> {
    let files = model.resolve_for(task)?;
    if verbose {
        let paths: Vec<String> = files
            .paths()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        eprintln!("saar: model {}: {}", files.name, paths.join(", "));
        eprintln!(
            "saar: {} CPU threads (--threads)",
            saar::engine::kernels::workers::threads()
        );
    }
    Ok(files)
}

/// `settings` with what no flag set taken from the model's own generation config.
pub fn with_model_defaults(
    options: &super::options::GenerationOptions,
    files: &saar::model::ModelFiles,
    mut settings: saar::task::TaskSettings,
) -> anyhow::Result<saar::task::TaskSettings> {
    let defaults = saar::model::GenerationDefaults::load(files)?;
    options.apply_model_defaults(&mut settings.generation, &defaults);
    Ok(settings)
}

/// Loads a model from resolved files with the `--prompts` templates.
pub fn load_model(
    files: saar::model::ModelFiles,
    model: &ModelOptions,
    placement: &saar::engine::Placement,
) -> anyhow::Result<Model> {
    let prompts = model.task_prompts()?;
    let name = files.name.clone();
    Model::load(files, placement, prompts).with_context(|| format!("loading model `{name}`"))
}

/// Streams generated text to stdout, keeping the first write error for later
/// (the generation callback cannot return one).
pub struct StdoutSink {
    out: std::io::StdoutLock<'static>,
    error: Option<std::io::Error>,
    pub enabled: bool,
    verbose: bool,
    /// Chunks summarized so far, while a long article goes map-reduce. indicatif draws
    /// it only when stderr is a terminal: piped, nothing is written.
    chunks: Option<ProgressBar>,
}

impl StdoutSink {
    pub fn new(enabled: bool, verbose: bool) -> Self {
        Self {
            out: std::io::stdout().lock(),
            error: None,
            enabled,
            verbose,
            chunks: None,
        }
    }

    /// Prints a line on stderr without tearing the chunk bar.
    fn note(&self, line: &str) {
        match &self.chunks {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn progress(&mut self, done: usize, total: usize) {
        let bar = self.chunks.get_or_insert_with(|| {
            let style = ProgressStyle::with_template(
                "saar: summarizing [{bar:30}] {pos}/{len} chunks, {elapsed} ({eta} left)",
            )
            .map(|style| style.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
                .with_style(style)
        });
        bar.set_position(done as u64);
        if done >= total {
            // The combine step streams the summary next: the bar must be gone first.
            bar.finish_and_clear();
            self.chunks = None;
        }
    }

    pub fn event(&mut self, event: Event) {
        match event {
            Event::Output(piece) if self.enabled && self.error.is_none() => {
                if let Err(err) = self
                    .out
                    .write_all(piece.as_bytes())
                    .and_then(|()| self.out.flush())
                {
                    self.error = Some(err);
                }
            }
            Event::Step(step) if self.verbose => self.note(&format!("saar: {step}")),
            Event::Warning(warning) => self.note(&format!("saar: warning: {warning}")),
            Event::Progress { done, total } => self.progress(done, total),
            _ => {}
        }
    }

    /// Ends the streamed output with a newline and reports any write error.
    pub fn finish(mut self) -> std::io::Result<()> {
        if let Some(err) = self.error.take() {
            return Err(err);
        }
        if self.enabled {
            self.out.write_all(b"\n")?;
            self.out.flush()?;
        }
        Ok(())
    }
}

/// `--stats`: one line on stderr. Models without a separate prefill (Marian runs its
/// encoder inside each batch) report decode only.
pub fn print_stats(usage: &Usage) {
    let decode = format!(
        "decode {} tokens at {:.1} tok/s ({} model call{})",
        usage.generated_tokens,
        usage.decode_tokens_per_sec(),
        usage.calls,
        if usage.calls == 1 { "" } else { "s" }
    );
    if usage.prefill_secs > 0.0 {
        let prefill_rate = usage.prefill_tokens_per_sec();
        eprintln!(
            "saar: prefill {} tokens at {prefill_rate:.1} tok/s, {decode}",
            usage.prompt_tokens
        );
    } else {
        eprintln!("saar: {} source tokens, {decode}", usage.prompt_tokens);
    }
}

/// Prints a value as one line of JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}
