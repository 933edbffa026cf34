//! Replies as server-sent events. A completion streams OpenAI's chunk objects (the
//! role first for chat, then text pieces, then a chunk with `finish_reason`, the usage
//! chunk when `stream_options.include_usage` is set, then `data: [DONE]`). The article
//! routes stream `{"delta": …}` pieces and end with the whole record as an event named
//! `record`. Pieces are whole strings from the tokenizer's stream, so a Devanagari
//! character is never split across events.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use saar::task::{Completion, Finish};

use super::error::ApiError;
use super::routes::{finish_reason, unix_now, Pending};
use super::worker::Reply;

/// The shape of one kind of completion: chat (`chat.completion`) or raw text
/// (`text_completion`), with the ids every chunk of one reply shares.
pub(crate) struct Chunks {
    chat: bool,
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
}

impl Chunks {
    fn new(chat: bool, model: String, include_usage: bool) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let prefix = if chat { "chatcmpl" } else { "cmpl" };
        Self {
            chat,
            id: format!("{prefix}-saar-{}", NEXT.fetch_add(1, Ordering::Relaxed)),
            model,
            created: unix_now(),
            include_usage,
        }
    }

    pub fn chat(model: String, include_usage: bool) -> Self {
        Self::new(true, model, include_usage)
    }

    pub fn text(model: String, include_usage: bool) -> Self {
        Self::new(false, model, include_usage)
    }

    fn object(&self, chunk: bool) -> &'static str {
        match (self.chat, chunk) {
            (true, false) => "chat.completion",
            (true, true) => "chat.completion.chunk",
            (false, _) => "text_completion",
        }
    }

    fn envelope(&self, chunk: bool, choices: Value) -> Value {
        json!({
            "id": self.id,
            "object": self.object(chunk),
            "created": self.created,
            "model": self.model,
            "choices": choices,
        })
    }

    /// The whole reply of a request that did not stream.
    pub fn whole(&self, done: &Completion, usage: Value) -> Value {
        let choice = if self.chat {
            json!({"index": 0, "message": {"role": "assistant", "content": done.text},
                   "finish_reason": finish_reason(done.finish)})
        } else {
            json!({"index": 0, "text": done.text, "logprobs": null,
                   "finish_reason": finish_reason(done.finish)})
        };
        let mut whole = self.envelope(false, json!([choice]));
        whole["usage"] = usage;
        whole
    }

    fn delta(&self, content: Option<&str>, finish: Option<&str>) -> Value {
        let choice = if self.chat {
            let delta = match content {
                Some(text) => json!({"content": text}),
                None => json!({}),
            };
            json!({"index": 0, "delta": delta, "finish_reason": finish})
        } else {
            json!({"index": 0, "text": content.unwrap_or(""), "logprobs": null,
                   "finish_reason": finish})
        };
        self.envelope(true, json!([choice]))
    }

    /// The chunk before any text: chat announces the assistant's role.
    fn opening(&self) -> Option<Value> {
        self.chat.then(|| {
            self.envelope(
                true,
                json!([{"index": 0, "delta": {"role": "assistant", "content": ""},
                        "finish_reason": null}]),
            )
        })
    }

    fn usage(&self, done: &Completion) -> Value {
        let mut chunk = self.envelope(true, json!([]));
        chunk["usage"] = json!({
            "prompt_tokens": done.usage.prompt_tokens,
            "completion_tokens": done.usage.generated_tokens,
            "total_tokens": done.usage.prompt_tokens + done.usage.generated_tokens,
        });
        chunk
    }
}

fn data(value: &Value) -> Event {
    Event::default().data(value.to_string())
}

fn done_event() -> Event {
    Event::default().data("[DONE]")
}

/// Events not yet sent, and the replies they come from.
struct Feed {
    pending: Pending,
    out: VecDeque<Event>,
    finished: bool,
}

impl Feed {
    fn new(pending: Pending, first: Option<Event>) -> Self {
        Self {
            pending,
            out: first.into_iter().collect(),
            finished: false,
        }
    }

    /// Ends the stream with an error object, then `[DONE]`.
    fn fail(&mut self, err: &ApiError) {
        self.pending.log.set_status(err.status.as_u16());
        self.out.push_back(data(&err.body()));
        self.out.push_back(done_event());
        self.finished = true;
    }
}

/// Turns a feed into an SSE response; `on_reply` maps each reply but a failure to
/// events (a failure ends every stream the same way).
fn sse<F>(feed: Feed, on_reply: F) -> Response
where
    F: FnMut(&mut Feed, Reply) + Send + 'static,
{
    let stream =
        futures_util::stream::unfold((feed, on_reply), |(mut feed, mut on_reply)| async move {
            loop {
                if let Some(event) = feed.out.pop_front() {
                    return Some((Ok::<Event, Infallible>(event), (feed, on_reply)));
                }
                if feed.finished {
                    return None;
                }
                match feed.pending.replies.recv().await {
                    Some(Reply::Failed(err)) => feed.fail(&err),
                    Some(reply) => {
                        if matches!(reply, Reply::Piece(_)) {
                            feed.pending.log.first_token();
                        }
                        on_reply(&mut feed, reply);
                    }
                    None => feed.fail(&ApiError::internal(
                        "the model's worker stopped before answering",
                    )),
                }
            }
        });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Streams a chat or text completion as OpenAI's chunks.
pub(crate) fn completion_events(pending: Pending, shape: Chunks) -> Response {
    let first = shape.opening().map(|chunk| data(&chunk));
    sse(Feed::new(pending, first), move |feed, reply| match reply {
        Reply::Piece(piece) => feed.out.push_back(data(&shape.delta(Some(&piece), None))),
        Reply::Completion(done) => {
            let usage = &done.usage;
            feed.pending.log.usage(
                &feed.pending.model,
                usage.prompt_tokens,
                usage.generated_tokens,
            );
            if done.finish == Finish::TimedOut {
                let err = ApiError::timed_out(feed.pending.timeout_secs);
                return feed.fail(&err);
            }
            let reason = finish_reason(done.finish);
            feed.out.push_back(data(&shape.delta(None, Some(reason))));
            if shape.include_usage {
                feed.out.push_back(data(&shape.usage(&done)));
            }
            feed.out.push_back(done_event());
            feed.finished = true;
        }
        _ => feed.fail(&ApiError::internal("unexpected reply from the model")),
    })
}

/// Streams an article task's output as `{"delta": …}` events, then the record.
pub(crate) fn record_events(pending: Pending) -> Response {
    sse(Feed::new(pending, None), |feed, reply| match reply {
        Reply::Piece(piece) => feed.out.push_back(data(&json!({"delta": piece}))),
        Reply::Record(record) => {
            let usage = &record.usage;
            feed.pending.log.usage(
                &feed.pending.model,
                usage.prompt_tokens,
                usage.generated_tokens,
            );
            let record = serde_json::to_value(&*record).unwrap_or(Value::Null);
            feed.out
                .push_back(Event::default().event("record").data(record.to_string()));
            feed.out.push_back(done_event());
            feed.finished = true;
        }
        _ => feed.fail(&ApiError::internal("unexpected reply from the model")),
    })
}
