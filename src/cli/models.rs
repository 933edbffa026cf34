//! `saar models`: the preset table (cached or not, size, gated, licence) as text or
//! JSON, `saar models pull NAME`, which fills the HF cache with a progress bar, and
//! `saar models rm NAME`, which deletes a model from it.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use indicatif::{DecimalBytes, ProgressBar, ProgressStyle};
use saar::model::{
    list_presets, pull, remove_cached, CacheState, HubSettings, ModelFiles, PresetStatus, Progress,
};
use serde_json::json;

/// Arguments of `saar models`.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: Option<ModelsCommand>,
    /// How to print the list: a table, or JSON (`hf_cache` and a `presets` array)
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List the presets: cached or not, size, gated, licence (the default)
    List,
    /// Download a preset or `org/name[@revision]` into the HF cache
    Pull {
        /// A preset name (see `saar models`) or a hub id `org/name[@revision]`
        name: String,
    },
    /// Delete a preset's or `org/name`'s weights (every revision) from the HF cache
    Rm {
        /// A preset name (see `saar models`) or a hub id `org/name`
        name: String,
    },
}

/// Runs `saar models`; `settings` come from [`HubSettings::from_env`] plus `--offline`.
pub fn run(args: &ModelsArgs, settings: &HubSettings) -> anyhow::Result<ExitCode> {
    match &args.command {
        None | Some(ModelsCommand::List) => list(settings, args.format),
        Some(ModelsCommand::Pull { name }) => {
            let mut progress = BarProgress::default();
            let files = pull(name, settings, &mut progress)?;
            progress.finish();
            print_pulled(&files);
            Ok(ExitCode::SUCCESS)
        }
        Some(ModelsCommand::Rm { name }) => {
            let removed = remove_cached(name, settings)?;
            println!(
                "removed {} ({}) from {}",
                removed.repo,
                DecimalBytes(removed.bytes),
                removed.folder.display()
            );
            if let Some(kept) = removed.kept {
                println!("kept its tokenizer repo {kept}, which other models may use");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn list(settings: &HubSettings, format: ListFormat) -> anyhow::Result<ExitCode> {
    let rows = list_presets(settings)?;
    if format == ListFormat::Json {
        let presets: Vec<_> = rows.iter().map(preset_json).collect();
        let out = json!({ "hf_cache": settings.cache_dir, "presets": presets });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("HF cache: {}", settings.cache_dir.display());
    println!(
        "  {:<16} {:<10} {:<22} {:<6} {:<28} DESCRIPTION",
        "NAME", "DOWNLOAD", "CACHED", "GATED", "LICENCE"
    );
    for row in &rows {
        let preset = row.preset;
        let marker = if preset.default { '*' } else { ' ' };
        let expected = DecimalBytes(preset.size_mb * 1_000_000).to_string();
        let cached = match &row.state {
            CacheState::Complete { bytes, .. } => format!("yes, {}", DecimalBytes(*bytes)),
            CacheState::Partial { bytes } => format!("partly, {}", DecimalBytes(*bytes)),
            CacheState::Missing => "no".to_string(),
        };
        let gated = if preset.gated { "yes" } else { "no" };
        println!(
            "{marker} {:<16} {:<10} {:<22} {:<6} {:<28} {}",
            preset.name, expected, cached, gated, preset.licence, preset.description
        );
    }
    println!("* default. Download with `saar models pull NAME`; gated models need HF_TOKEN.");
    Ok(ExitCode::SUCCESS)
}

/// One preset as `saar models --format json` lists it.
fn preset_json(row: &PresetStatus) -> serde_json::Value {
    let preset = row.preset;
    let (cached, cached_bytes, revision) = match &row.state {
        CacheState::Complete { bytes, revision } => ("yes", *bytes, revision.clone()),
        CacheState::Partial { bytes } => ("partly", *bytes, None),
        CacheState::Missing => ("no", 0, None),
    };
    json!({
        "name": preset.name,
        "default": preset.default,
        "repo": preset.repo,
        "download_bytes": preset.size_mb * 1_000_000,
        "cached": cached,
        "cached_bytes": cached_bytes,
        "cached_revision": revision,
        "gated": preset.gated,
        "licence": preset.licence,
        "architecture": preset.architecture,
        "description": preset.description,
    })
}

fn print_pulled(files: &ModelFiles) {
    let revision = files.revision.as_deref().unwrap_or("local");
    println!("{} is ready (revision {revision}):", files.name);
    for path in files.paths() {
        println!("  {}", path.display());
    }
}

/// One indicatif bar per downloaded file.
#[derive(Default)]
pub struct BarProgress {
    bar: Option<ProgressBar>,
}

impl BarProgress {
    fn style() -> ProgressStyle {
        ProgressStyle::with_template(
            "{msg:32!} [{bar:30}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {eta:>4}",
        )
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
    }
}

impl Progress for BarProgress {
    fn init(&mut self, size: usize, filename: &str) {
        // hf-hub calls init again when it (re)starts the transfer: reuse the bar.
        let bar = match &self.bar {
            Some(bar) if !bar.is_finished() => bar.clone(),
            _ => {
                let bar = ProgressBar::new(0).with_style(Self::style());
                self.bar = Some(bar.clone());
                bar
            }
        };
        bar.set_length(size as u64);
        bar.set_position(0);
        bar.set_message(filename.to_string());
    }

    fn update(&mut self, size: usize) {
        if let Some(bar) = &self.bar {
            bar.inc(size as u64);
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
    }
}
