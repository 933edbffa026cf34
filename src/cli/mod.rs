//! The command line: parsing, validation into typed settings, printing, exit codes.
//! This is the only place that prints to the terminal or decides an exit code; the
//! library below returns typed errors.

mod batch;
mod batch_progress;
mod batching;
mod bench;
mod compare;
mod generate;
mod interrupt;
mod llm;
mod models;
mod one_line;
mod options;
mod score;
mod serve;
mod split;
mod summarize;
mod tokenize;
mod translate;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// saar (सार, "essence"): Hindi news into English, summaries and translations,
/// computed locally with open models.
#[derive(Debug, Parser)]
#[command(name = "saar", version, about, long_about = None, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Summarize(summarize::SummarizeArgs),
    Translate(translate::TranslateArgs),
    Split(split::SplitArgs),
    /// List the model presets and what is cached; `saar models pull NAME` downloads one,
    /// `saar models rm NAME` deletes one.
    Models(models::ModelsArgs),
    /// Score outputs against references: BLEU, chrF, chrF++ (sacrebleu-exact) and ROUGE-L.
    Score(score::Args),
    /// Measure speed on random-weight models of real shapes, saar's kernels vs candle's (JSON).
    Bench(bench::BenchArgs),
    Compare(compare::CompareArgs),
    /// Summarize and/or translate a corpus into JSON lines: resumable, shardable, crash-safe.
    Batch(batch::BatchArgs),
    Serve(serve::ServeArgs),
    Generate(generate::GenerateArgs),
    Tokenize(tokenize::TokenizeArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    Completions {
        /// The shell to complete in
        shell: clap_complete::Shell,
    },
}

/// Runs the CLI and turns its outcome into an exit code. Errors print once, as one
/// line with their causes; a closed pipe (`saar … | head`) counts as success.
pub fn main() -> ExitCode {
    shorten_candle_spin();
    match run() {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("saar: {}", one_line::one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// How many `pause`s candle's pool threads spin after a parallel op before they park,
/// unless the user set `CANDLE_BARRIER_POOL_SPIN_LIMIT`. candle's default, 25 000, keeps
/// a thread spinning into saar's next quantized product, and with as many threads as
/// cores it takes a core from that product: 4.4% of a 1.7B Q4_K_M prefill's samples
/// were that spin, and 1 000 gave the prefill 8–17% (`saar bench`, 2 threads).
const CANDLE_SPIN_LIMIT: &str = "1000";

/// Sets candle's spin limit (read once, when its pool starts). Runs first in `main`,
/// while the process has one thread, so changing the environment is sound.
fn shorten_candle_spin() {
    const VAR: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
    if std::env::var_os(VAR).is_none() {
        std::env::set_var(VAR, CANDLE_SPIN_LIMIT);
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let command = Cli::parse().command;
    // Still one thread here: the only safe moment to size the pools through the environment
    // (bench's child processes inherit it too).
    if let Some(runtime) = command.runtime() {
        runtime.apply_threads();
    }
    match command {
        Command::Summarize(args) => summarize::run(&args),
        Command::Translate(args) => translate::run(&args),
        Command::Split(args) => split::main(&args),
        Command::Models(args) => models::run(&args, &saar::model::HubSettings::from_env()),
        Command::Score(args) => score::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Compare(args) => compare::run(&args),
        Command::Batch(args) => batch::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Generate(args) => generate::run(&args),
        Command::Tokenize(args) => tokenize::run(&args),
        Command::Completions { shell } => {
            // Written from the same clap definition that parses, so it never drifts.
            // Into memory first: clap_complete panics on a failed write (`| head`).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "saar", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

impl Command {
    /// The runtime options of a command that runs a model.
    fn runtime(&self) -> Option<&options::RuntimeOptions> {
        match self {
            Command::Summarize(args) => Some(&args.runtime),
            Command::Translate(args) => Some(&args.runtime),
            Command::Split(args) => Some(&args.runtime),
            Command::Bench(args) => Some(&args.runtime),
            Command::Compare(args) => Some(&args.runtime),
            Command::Batch(args) => Some(&args.runtime),
            Command::Serve(args) => Some(&args.runtime),
            Command::Generate(args) => Some(&args.runtime),
            Command::Models(_)
            | Command::Score(_)
            | Command::Tokenize(_)
            | Command::Completions { .. } => None,
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
