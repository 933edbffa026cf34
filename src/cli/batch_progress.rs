//! Progress of a batch run on stderr: an indicatif bar (documents done/total, tokens/s,
//! ETA, the current document) on a terminal; a log line every so often otherwise, so
//! that an overnight job's log shows it is alive without flooding it.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often a log line is written when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(30);

pub struct Progress {
    mode: Mode,
    total: usize,
    seen: usize,
    generated_tokens: usize,
    started: Instant,
}

enum Mode {
    Quiet,
    Bar(ProgressBar),
    Log { last: Instant },
}

impl Progress {
    pub fn new(total: usize, quiet: bool) -> Self {
        let started = Instant::now();
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total as u64);
            // The template is a constant: a bad one is a bug caught by any run on a terminal.
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:30} {pos}/{len} docs  {prefix}  ETA {eta}  {wide_msg}",
            ) {
                bar.set_style(style);
            }
            Mode::Bar(bar)
        } else {
            Mode::Log { last: started }
        };
        Self {
            mode,
            total,
            seen: 0,
            generated_tokens: 0,
            started,
        }
    }

    /// Tokens generated per second of wall time since the run began.
    pub fn tokens_per_sec(&self) -> f64 {
        let secs = self.started.elapsed().as_secs_f64();
        if secs > 0.0 {
            self.generated_tokens as f64 / secs
        } else {
            0.0
        }
    }

    pub fn generated_tokens(&self) -> usize {
        self.generated_tokens
    }

    pub fn begin(&mut self, id: &str) {
        if let Mode::Bar(bar) = &self.mode {
            bar.set_message(id.to_string());
        }
    }

    /// A document is finished (or skipped, with 0 tokens).
    pub fn end(&mut self, id: &str, generated_tokens: usize) {
        self.seen += 1;
        self.generated_tokens += generated_tokens;
        let rate = self.tokens_per_sec();
        match &mut self.mode {
            Mode::Quiet => {}
            Mode::Bar(bar) => {
                bar.set_prefix(format!("{rate:.1} tok/s"));
                bar.inc(1);
            }
            Mode::Log { last } => {
                if last.elapsed() >= LOG_EVERY || self.seen == self.total {
                    *last = Instant::now();
                    eprintln!(
                        "saar: batch {}/{} docs, {rate:.1} tok/s, last {id}",
                        self.seen, self.total
                    );
                }
            }
        }
    }

    /// Prints a line without tearing the bar.
    pub fn note(&self, line: &str) {
        match &self.mode {
            Mode::Bar(bar) => bar.suspend(|| eprintln!("{line}")),
            _ => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
}
