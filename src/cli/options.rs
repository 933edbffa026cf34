//! Option groups shared by the model-running subcommands (model, runtime, generation,
//! output), and their validation into the library's typed settings in one place.

use std::path::PathBuf;

use anyhow::{bail, Context};
use candle_core::{DType, Device};
use clap::{Args, ValueEnum};

use saar::engine::{GenerationSettings, Placement};
use saar::model::{HubSettings, ModelFiles, ModelSpec};
use saar::task::{defaults, TaskSettings};

/// Which model to run.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Model")]
pub struct ModelOptions {
    // The help names the default preset, which the registry decides.
    #[arg(long, short = 'm', env = "SAAR_MODEL", help = model_help())]
    pub model: Option<String>,
    /// Never use the network: load from the Hugging Face cache only (also HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,
    /// A directory of prompt templates (`summarize.j2`, `translate.j2`, `system.j2`, …)
    /// that override the built-in ones.
    #[arg(long, env = "SAAR_PROMPTS", value_name = "DIR")]
    pub prompts: Option<PathBuf>,
    /// A Jinja chat template that replaces the model's own (for a base model, or to
    /// try another template).
    #[arg(long, value_name = "FILE")]
    pub chat_template: Option<PathBuf>,
}

/// `--model`'s help, naming the registry's default preset.
fn model_help() -> String {
    fn name(preset: Result<&'static saar::model::Preset, saar::model::ModelError>) -> &'static str {
        preset.map_or("none: the preset registry is broken", |p| p.name.as_str())
    }
    let default = name(saar::model::default_preset());
    let translator = name(saar::model::default_translation_preset());
    format!(
        "A preset (see `saar models`), a hub id `org/name[@revision]`, a local model \
         directory, or a `.gguf` file [default: {default}; for translation alone: {translator}]"
    )
}

/// Where the model runs.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Runtime")]
pub struct RuntimeOptions {
    /// `auto` (a GPU when built with one, else the CPU), `cpu`, `cuda[:N]` or `metal[:N]`.
    #[arg(long, env = "SAAR_DEVICE", default_value = "auto")]
    pub device: String,
    /// Floating-point type for safetensors weights: `auto` is bf16 on a GPU; on a CPU,
    /// f32 arithmetic with f16/bf16 matrices kept 16-bit as stored (half the memory).
    /// `f16`/`bf16` on a CPU store f32 matrices in that type.
    #[arg(long, env = "SAAR_DTYPE", value_enum, default_value_t = DtypeChoice::Auto)]
    pub dtype: DtypeChoice,
    /// CPU threads the model runs on (saar's kernels and candle's). Default:
    /// `RAYON_NUM_THREADS` if set, else every physical core.
    #[arg(long, env = "SAAR_THREADS", value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DtypeChoice {
    Auto,
    F32,
    Bf16,
    F16,
}

/// How tokens are chosen.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Generation")]
pub struct GenerationOptions {
    /// The most tokens to generate for one output [default: 512; a translation model:
    /// its own generation config's limit, per sentence]. An LLM translation raises it
    /// to its longest sentence's token count, with a warning, rather than cut sentences.
    #[arg(long)]
    pub max_new_tokens: Option<usize>,
    /// Sampling temperature; 0 decodes greedily (the default: reproducible output).
    #[arg(long, default_value_t = defaults::TEMPERATURE)]
    pub temperature: f64,
    /// Sample only from the k most likely tokens.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Sample only from the smallest set of tokens whose probability reaches p.
    #[arg(long)]
    pub top_p: Option<f64>,
    /// Random seed for sampling.
    #[arg(long, default_value_t = defaults::SEED)]
    pub seed: u64,
    /// Penalty for repeating recent tokens; 1.0 turns it off. Default: the model's
    /// `repetition_penalty` (generation_config.json or GGUF metadata), else 1.0.
    #[arg(long)]
    pub repeat_penalty: Option<f32>,
    /// How many recent tokens the repeat penalty looks at.
    #[arg(long, default_value_t = defaults::REPEAT_LAST_N)]
    pub repeat_last_n: usize,
}

/// How results are shown.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputOptions {
    /// `text` streams the output as it is generated; `json` prints one JSON object at the end.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Print prefill and decode speed (tokens/s) to stderr.
    #[arg(long)]
    pub stats: bool,
    /// Say on stderr what is happening: the model files, removed boilerplate, chunks.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

impl RuntimeOptions {
    /// Sizes the thread pools to `--threads`: candle, rayon and saar's kernels read
    /// these variables once, when their pools start. Call it while the process has
    /// one thread (changing the environment is only sound then), before any model work.
    pub fn apply_threads(&self) {
        if let Some(threads) = self.threads {
            std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
            std::env::set_var("CANDLE_NUM_THREADS", threads.to_string());
        }
    }

    /// Validates `--device` and `--dtype` into where the model runs.
    pub fn placement(&self) -> anyhow::Result<Placement> {
        let device = parse_device(&self.device)?;
        let dtype = match self.dtype {
            DtypeChoice::Auto => None,
            DtypeChoice::F32 => Some(DType::F32),
            DtypeChoice::Bf16 => Some(DType::BF16),
            DtypeChoice::F16 => Some(DType::F16),
        };
        Ok(Placement { device, dtype })
    }
}

fn parse_device(spec: &str) -> anyhow::Result<Device> {
    let (kind, ordinal) = match spec.split_once(':') {
        Some((kind, n)) => {
            let n: usize = n
                .parse()
                .with_context(|| format!("--device {spec}: `{n}` is not a device number"))?;
            (kind, n)
        }
        None => (spec, 0),
    };
    let device = match kind {
        // `auto` falls back to the CPU where the GPU a build was made for does not answer
        // (a CUDA build on a machine whose driver sees no GPU).
        "auto" if candle_core::utils::cuda_is_available() => {
            Device::new_cuda(ordinal).unwrap_or(Device::Cpu)
        }
        "auto" if candle_core::utils::metal_is_available() => {
            Device::new_metal(ordinal).unwrap_or(Device::Cpu)
        }
        "auto" | "cpu" => Device::Cpu,
        "cuda" if candle_core::utils::cuda_is_available() => Device::new_cuda(ordinal)
            .with_context(|| format!("--device {spec}: no such CUDA device"))?,
        "cuda" => {
            bail!("--device cuda: this saar was built without CUDA; rebuild with `--features cuda`")
        }
        "metal" if candle_core::utils::metal_is_available() => Device::new_metal(ordinal)
            .with_context(|| format!("--device {spec}: no such Metal device"))?,
        "metal" => bail!(
            "--device metal: this saar was built without Metal; rebuild with `--features metal`"
        ),
        other => bail!("--device {other}: expected auto, cpu, cuda[:N] or metal[:N]"),
    };
    Ok(device)
}

impl GenerationOptions {
    /// The flags as task settings, not yet checked (see [`checked`]). EOS ids come
    /// from the model's files.
    pub fn task_settings(&self) -> TaskSettings {
        TaskSettings {
            max_new_tokens_given: self.max_new_tokens.is_some(),
            ..TaskSettings::new(self.settings())
        }
    }

    fn settings(&self) -> GenerationSettings {
        GenerationSettings {
            max_new_tokens: self.max_new_tokens.unwrap_or(defaults::MAX_NEW_TOKENS),
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            seed: self.seed,
            repeat_penalty: self.repeat_penalty.unwrap_or(defaults::REPEAT_PENALTY),
            repeat_last_n: self.repeat_last_n,
            eos_token_ids: Vec::new(),
        }
    }
}

/// Validates task settings built from flags, naming the flag that is out of range.
pub fn checked(settings: TaskSettings) -> anyhow::Result<TaskSettings> {
    match settings.validate() {
        Ok(()) => Ok(settings),
        Err(bad) => bail!("--{} {}", bad.name.replace('_', "-"), bad.rule),
    }
}

impl GenerationOptions {
    /// Fills what no flag set from the model's own defaults (in `files`).
    pub fn apply_model_defaults(
        &self,
        settings: &mut GenerationSettings,
        defaults: &saar::model::GenerationDefaults,
    ) {
        if self.repeat_penalty.is_none() {
            settings.repeat_penalty = defaults.repetition_penalty_or_off();
        }
        settings.top_k = self.top_k.or(defaults.top_k);
        settings.top_p = self.top_p.or(defaults.top_p);
    }
}

impl ModelOptions {
    /// Resolves `--model` to local files, downloading on first use with a progress bar.
    /// Without `--model`, `task`'s default preset: translation has its own (a
    /// dedicated translation model).
    pub fn resolve_for(&self, task: saar::task::TaskKind) -> anyhow::Result<ModelFiles> {
        let model = match (&self.model, task) {
            (Some(model), _) => Some(model.clone()),
            (None, saar::task::TaskKind::Translate) => {
                Some(saar::model::default_translation_preset()?.name.clone())
            }
            (None, _) => None,
        };
        let mut files = resolve_model(model.as_deref(), self.offline)?;
        if let Some(template) = &self.chat_template {
            files.chat_template = Some(template.clone());
        }
        Ok(files)
    }

    /// The `--prompts` templates, or the built-in ones.
    pub fn task_prompts(&self) -> anyhow::Result<saar::prompt::TaskPrompts> {
        task_prompts(self.prompts.as_deref())
    }
}

/// The templates of a `--prompts` directory, or the built-in ones.
pub fn task_prompts(dir: Option<&std::path::Path>) -> anyhow::Result<saar::prompt::TaskPrompts> {
    Ok(match dir {
        Some(dir) => saar::prompt::TaskPrompts::from_dir(dir)?,
        None => saar::prompt::TaskPrompts::embedded(),
    })
}

/// Resolves a `--model` value (or the default preset) through the HF cache and hub.
pub fn resolve_model(model: Option<&str>, offline: bool) -> anyhow::Result<ModelFiles> {
    let (spec, settings) = model_spec(model, offline)?;
    let mut progress = super::models::BarProgress::default();
    Ok(saar::model::resolve_with_progress(
        &spec,
        &settings,
        &mut progress,
    )?)
}

/// [`resolve_model`] for commands that only count tokens: the weights are not downloaded.
pub fn resolve_tokenizer(model: &str, offline: bool) -> anyhow::Result<ModelFiles> {
    let (spec, settings) = model_spec(Some(model), offline)?;
    let mut progress = super::models::BarProgress::default();
    Ok(saar::model::resolve_tokenizer(
        &spec,
        &settings,
        &mut progress,
    )?)
}

fn model_spec(model: Option<&str>, offline: bool) -> anyhow::Result<(ModelSpec, HubSettings)> {
    let spec = match model {
        Some(name) => ModelSpec::parse(name)?,
        None => ModelSpec::Preset(saar::model::default_preset()?),
    };
    let mut settings = HubSettings::from_env();
    settings.offline |= offline;
    Ok((spec, settings))
}
