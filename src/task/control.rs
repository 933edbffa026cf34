//! How a caller ends a generation early, beside the model's own EOS and length limit:
//! stop strings in the output (OpenAI's `stop`), a flag another thread raises (an HTTP
//! client that went away, a server shutting down) and a deadline (`--request-timeout`).
//! [`StopFilter`] holds back streamed text that might be the start of a stop string,
//! so a stop string never reaches the client, not even in part.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// When to end a generation before the model does.
#[derive(Debug, Clone, Default)]
pub struct StopWhen {
    /// The output ends before the first occurrence of any of these.
    pub strings: Vec<String>,
    /// Flags another thread raises to stop at the next token (any one is enough: a
    /// request's own, a server's shutdown).
    pub cancel: Vec<Arc<AtomicBool>>,
    /// No new token after this instant.
    pub deadline: Option<Instant>,
}

/// Why a generation ended early, when it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    Cancelled,
    TimedOut,
}

impl StopWhen {
    /// A stop that only a flag raises.
    pub fn cancellable(flag: Arc<AtomicBool>) -> Self {
        Self {
            cancel: vec![flag],
            ..Self::default()
        }
    }

    /// Whether the caller wants the generation to end now, and why.
    pub fn interrupted(&self) -> Option<Interrupt> {
        if self.cancel.iter().any(|flag| flag.load(Ordering::Relaxed)) {
            return Some(Interrupt::Cancelled);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Some(Interrupt::TimedOut);
        }
        None
    }
}

/// Streams text through, cutting it at the first stop string. Text that could still
/// turn into a stop string is held back until the next piece decides it.
#[derive(Debug)]
pub struct StopFilter<'s> {
    strings: &'s [String],
    held: String,
    hit: bool,
}

impl<'s> StopFilter<'s> {
    pub fn new(strings: &'s [String]) -> Self {
        Self {
            strings,
            held: String::new(),
            hit: false,
        }
    }

    /// True once a stop string was seen: nothing more is let through.
    pub fn hit(&self) -> bool {
        self.hit
    }

    /// Takes the next piece and returns what may be shown now.
    pub fn push(&mut self, piece: &str) -> String {
        if self.hit {
            return String::new();
        }
        self.held.push_str(piece);
        let first_stop = self
            .strings
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| self.held.find(s.as_str()))
            .min();
        if let Some(at) = first_stop {
            self.hit = true;
            let shown = self.held[..at].to_string();
            self.held.clear();
            return shown;
        }
        let keep = self.longest_partial_suffix();
        let cut = self.held.len() - keep;
        let shown = self.held[..cut].to_string();
        self.held.drain(..cut);
        shown
    }

    /// What is still held at the end of the generation (no stop string came).
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    /// The length of the longest suffix of the held text that begins some stop string.
    fn longest_partial_suffix(&self) -> usize {
        let held = self.held.as_str();
        held.char_indices()
            .map(|(at, _)| at)
            .find(|&at| {
                let tail = &held[at..];
                self.strings
                    .iter()
                    .any(|s| s.len() > tail.len() && s.starts_with(tail))
            })
            .map_or(0, |at| held.len() - at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(strings: &[&str], pieces: &[&str]) -> (String, bool) {
        let strings: Vec<String> = strings.iter().map(|s| s.to_string()).collect();
        let mut filter = StopFilter::new(&strings);
        let mut out = String::new();
        for piece in pieces {
            out.push_str(&filter.push(piece));
        }
        let hit = filter.hit();
        out.push_str(&filter.finish());
        (out, hit)
    }

    #[test]
    fn cuts_at_a_stop_string_split_across_pieces() {
        assert_eq!(
            run(&["\n\n"], &["एक", " बात\n", "\nदूसरी"]),
            ("एक बात".into(), true)
        );
        assert_eq!(
            run(&["END"], &["ab", "E", "N", "D", "x"]),
            ("ab".into(), true)
        );
    }

    #[test]
    fn releases_held_text_that_did_not_become_a_stop_string() {
        assert_eq!(run(&["END"], &["ab", "EN", "x"]), ("abENx".into(), false));
        assert_eq!(run(&["END"], &["ab", "EN"]), ("abEN".into(), false));
        assert_eq!(run(&[], &["सार", "!"]), ("सार!".into(), false));
    }

    #[test]
    fn holds_back_only_a_possible_start_and_never_splits_a_character() {
        let strings = vec!["।\n".to_string()];
        let mut filter = StopFilter::new(&strings);
        assert_eq!(filter.push("वह आया।"), "वह आया");
        assert_eq!(filter.push(" फिर"), "। फिर");
        assert!(!filter.hit());
    }

    #[test]
    fn a_raised_flag_and_a_past_deadline_interrupt() {
        let flag = Arc::new(AtomicBool::new(false));
        let stop = StopWhen::cancellable(flag.clone());
        assert_eq!(stop.interrupted(), None);
        flag.store(true, Ordering::Relaxed);
        assert_eq!(stop.interrupted(), Some(Interrupt::Cancelled));
        let late = StopWhen {
            deadline: Some(Instant::now()),
            ..StopWhen::default()
        };
        assert_eq!(late.interrupted(), Some(Interrupt::TimedOut));
    }
}
