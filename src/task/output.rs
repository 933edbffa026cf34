//! What a generation's tokens become for a task: text decoded as it streams, cut at the
//! caller's stop strings, and the [`Completion`] with its [`Finish`] and [`Usage`]. The
//! one-sequence loop and a sequence in a shared batch feed it the same way, so a
//! completion comes out the same whichever ran it.

use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use super::control::{Interrupt, StopFilter, StopWhen};
use super::{Completion, Finish, Usage};
use crate::engine::batch::{batch_stopped, BatchHandle, SequenceEvent};
use crate::engine::{EngineError, Generation, GenerationSettings, StopReason};
use crate::model::tokenizer::TokenStream;

/// How often a sequence waiting in a shared batch checks its caller's cancel flags and
/// deadline when no token comes (a sequence waiting to join, or a long prefill).
const POLL: Duration = Duration::from_millis(50);

/// A generation's output as it streams.
pub(crate) struct Output<'t, 's> {
    stream: TokenStream<'t>,
    stop: &'s StopWhen,
    filter: StopFilter<'s>,
    text: String,
    interrupt: Option<Interrupt>,
    /// Tokens taken; a batched sequence may run past the one that stopped it.
    taken: usize,
}

impl<'t, 's> Output<'t, 's> {
    pub fn new(stream: TokenStream<'t>, stop: &'s StopWhen) -> Self {
        Self {
            stream,
            stop,
            filter: StopFilter::new(&stop.strings),
            text: String::new(),
            interrupt: None,
            taken: 0,
        }
    }

    fn show(&mut self, piece: &str, sink: &mut dyn FnMut(&str)) {
        sink(piece);
        self.text.push_str(piece);
    }

    /// Takes a new token; `false` when the generation should stop (a stop string came,
    /// or the caller wants it to end).
    pub fn token(&mut self, token: u32, sink: &mut dyn FnMut(&str)) -> bool {
        self.taken += 1;
        if let Some(piece) = self.stream.push(token) {
            let shown = self.filter.push(&piece);
            self.show(&shown, sink);
        }
        self.interrupt = self.stop.interrupted();
        !self.filter.hit() && self.interrupt.is_none()
    }

    /// The completion of `prompt` once `generation` has ended.
    pub fn finish(
        mut self,
        prompt: &[u32],
        generation: Generation,
        sink: &mut dyn FnMut(&str),
    ) -> Completion {
        if let Some(rest) = self.stream.finish() {
            let shown = self.filter.push(&rest);
            self.show(&shown, sink);
        }
        if !self.filter.hit() {
            let held = self.filter.finish();
            self.show(&held, sink);
        }
        let finish = match (self.interrupt, generation.stop) {
            (Some(Interrupt::Cancelled), _) => Finish::Cancelled,
            (Some(Interrupt::TimedOut), _) => Finish::TimedOut,
            _ if self.filter.hit() => Finish::StopString,
            (None, StopReason::Eos | StopReason::Stopped) => Finish::Eos,
            (None, StopReason::MaxNewTokens | StopReason::ContextFull) => Finish::Length,
        };
        let usage = Usage {
            calls: 1,
            prompt_tokens: generation.prompt_tokens,
            generated_tokens: generation.tokens.len(),
            prefill_secs: generation.prefill_secs,
            decode_secs: generation.decode_secs,
        };
        Completion {
            text: self.text,
            usage,
            finish,
            prompt_ids: prompt.to_vec(),
            output_ids: generation.tokens,
        }
    }

    /// Runs `prompt` as one sequence of the shared batch behind `handle`, feeding its
    /// tokens here as they come. When this side stops it (a stop string, a cancel
    /// flag, the deadline), the sequence is cancelled at the next step and the tokens
    /// it ran past the stop are dropped, so the generation is what the one-sequence
    /// loop would have returned.
    pub fn generate_batched(
        &mut self,
        handle: &BatchHandle,
        prompt: &[u32],
        settings: &GenerationSettings,
        sink: &mut dyn FnMut(&str),
    ) -> Result<Generation, EngineError> {
        let sequence = handle.submit(prompt.to_vec(), settings)?;
        let polls = !self.stop.cancel.is_empty() || self.stop.deadline.is_some();
        let mut stopped = false;
        loop {
            let event = if polls {
                match sequence.events().recv_timeout(POLL) {
                    Ok(event) => event,
                    Err(RecvTimeoutError::Timeout) => {
                        if !stopped {
                            self.interrupt = self.stop.interrupted();
                            if self.interrupt.is_some() {
                                stopped = true;
                                sequence.cancel();
                            }
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return Err(batch_stopped()),
                }
            } else {
                sequence.events().recv().map_err(|_| batch_stopped())?
            };
            match event {
                SequenceEvent::Token(_) if stopped => {}
                SequenceEvent::Token(token) => {
                    if !self.token(token, sink) {
                        stopped = true;
                        sequence.cancel();
                    }
                }
                SequenceEvent::Finished(outcome) => {
                    let mut generation = outcome?;
                    if stopped {
                        generation.tokens.truncate(self.taken);
                        generation.stop = StopReason::Stopped;
                    }
                    return Ok(generation);
                }
            }
        }
    }
}
