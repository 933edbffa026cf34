//! Where a batched sequence's tokens and end go: a trait the caller implements, and a
//! channel-backed one for a sequence whose reader lives on another thread (an HTTP
//! response): when the reader hangs up, the sequence stops at the next token.

use std::sync::mpsc::Sender;

use crate::engine::{EngineError, Generation};

/// Receives one sequence's tokens as they are sampled, then how it ended.
pub trait SequenceSink: Send {
    /// A new token, as [`generate`](crate::engine::generate())'s `on_token` sees it;
    /// `false` stops the sequence ([`StopReason::Stopped`](crate::engine::StopReason)).
    fn token(&mut self, token: u32) -> bool;
    /// The sequence has ended with this generation, or with the error that ended it.
    fn finish(&mut self, outcome: Result<Generation, EngineError>);
}

/// What a [`ChannelSink`] sends.
#[derive(Debug)]
pub enum SequenceEvent {
    Token(u32),
    Finished(Result<Generation, EngineError>),
}

/// Sends a sequence's events down a channel, tagged with `tag`.
pub struct ChannelSink<T: Send + Clone> {
    pub tag: T,
    pub sender: Sender<(T, SequenceEvent)>,
}

impl<T: Send + Clone> SequenceSink for ChannelSink<T> {
    fn token(&mut self, token: u32) -> bool {
        let event = (self.tag.clone(), SequenceEvent::Token(token));
        self.sender.send(event).is_ok()
    }

    fn finish(&mut self, outcome: Result<Generation, EngineError>) {
        // A receiver that has gone needs no ending.
        let _ = self
            .sender
            .send((self.tag.clone(), SequenceEvent::Finished(outcome)));
    }
}
