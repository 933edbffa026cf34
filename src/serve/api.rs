//! The request bodies the server accepts, and their checking into the library's
//! settings. The OpenAI fields keep OpenAI's names (`max_tokens`, `stop`, `stream`),
//! with llama.cpp's and vLLM's `top_k` and `repetition_penalty` beside them; saar's own
//! routes take the article and the same generation fields. Unknown fields are ignored,
//! as OpenAI-compatible servers do.

use serde::Deserialize;

use saar::prompt::{Lang, Length, Message};
use saar::task::{defaults, TaskSettings};

use super::error::ApiError;

/// The generation fields every route shares. Absent fields take saar's defaults
/// (greedy, as `saar summarize` runs), not OpenAI's sampling ones.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Sampling {
    pub max_tokens: Option<usize>,
    pub max_completion_tokens: Option<usize>,
    /// saar's own name for `max_tokens` on `/v1/summarize` and `/v1/translate`.
    pub max_new_tokens: Option<usize>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<usize>,
    pub seed: Option<u64>,
    pub repetition_penalty: Option<f32>,
    /// llama.cpp's name for the same.
    pub repeat_penalty: Option<f32>,
    pub repeat_last_n: Option<usize>,
    pub stop: Option<StopField>,
    /// How many choices; saar answers one.
    pub n: Option<usize>,
    pub beams: Option<usize>,
    pub batch_size: Option<usize>,
}

/// OpenAI's `stop`: one string or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum StopField {
    One(String),
    Many(Vec<String>),
}

impl Sampling {
    /// Checks the fields into task settings.
    pub fn settings(&self) -> Result<TaskSettings, ApiError> {
        if self.n.is_some_and(|n| n != 1) {
            return Err(ApiError::bad_request(
                "n must be 1: saar returns one choice",
            ));
        }
        let mut generation = defaults::generation();
        let max_new_tokens = self
            .max_completion_tokens
            .or(self.max_tokens)
            .or(self.max_new_tokens);
        if let Some(max) = max_new_tokens {
            generation.max_new_tokens = max;
        }
        generation.temperature = self.temperature.unwrap_or(generation.temperature);
        generation.top_p = self.top_p;
        generation.top_k = self.top_k;
        generation.seed = self.seed.unwrap_or(generation.seed);
        if let Some(penalty) = self.repetition_penalty.or(self.repeat_penalty) {
            generation.repeat_penalty = penalty;
        }
        generation.repeat_last_n = self.repeat_last_n.unwrap_or(generation.repeat_last_n);
        let mut settings = TaskSettings {
            max_new_tokens_given: max_new_tokens.is_some(),
            beams: self.beams,
            batch_size: self.batch_size.unwrap_or(defaults::BATCH_SIZE),
            ..TaskSettings::new(generation)
        };
        settings.stop.strings = match &self.stop {
            None => Vec::new(),
            Some(StopField::One(s)) => vec![s.clone()],
            Some(StopField::Many(list)) => list.clone(),
        };
        if settings.stop.strings.len() > 16 {
            return Err(ApiError::bad_request("stop takes at most 16 strings"));
        }
        settings.stop.strings.retain(|s| !s.is_empty());
        settings
            .validate()
            .map_err(|bad| ApiError::bad_request(bad.to_string()))?;
        Ok(settings)
    }
}

/// `POST /v1/chat/completions`.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatRequest {
    pub model: Option<String>,
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub stream: bool,
    pub stream_options: Option<StreamOptions>,
    #[serde(flatten)]
    pub sampling: Sampling,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChatMessage {
    pub role: String,
    #[serde(default)]
    pub content: Option<Content>,
}

/// A message's content: a string, or OpenAI's list of typed parts (text only here).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Debug, Deserialize)]
pub(crate) struct ContentPart {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
}

impl ChatRequest {
    /// The conversation as chat templates take it.
    pub fn messages(&self) -> Result<Vec<Message>, ApiError> {
        if self.messages.is_empty() {
            return Err(ApiError::bad_request(
                "messages must hold at least one message",
            ));
        }
        self.messages
            .iter()
            .map(|m| {
                let content = match &m.content {
                    None => String::new(),
                    Some(Content::Text(text)) => text.clone(),
                    Some(Content::Parts(parts)) => {
                        let mut text = String::new();
                        for part in parts {
                            match (part.kind.as_str(), &part.text) {
                                ("text", Some(piece)) => text.push_str(piece),
                                (kind, _) => {
                                    return Err(ApiError::bad_request(format!(
                                    "message content of type `{kind}` is not supported: send text"
                                )))
                                }
                            }
                        }
                        text
                    }
                };
                Ok(Message::new(m.role.clone(), content))
            })
            .collect()
    }

    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage)
    }
}

/// `POST /v1/completions`: raw text, no chat template.
#[derive(Debug, Deserialize)]
pub(crate) struct CompletionRequest {
    pub model: Option<String>,
    pub prompt: PromptField,
    #[serde(default)]
    pub stream: bool,
    pub stream_options: Option<StreamOptions>,
    #[serde(flatten)]
    pub sampling: Sampling,
}

/// OpenAI's `prompt`: a string, or a list of one string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum PromptField {
    One(String),
    Many(Vec<String>),
}

impl CompletionRequest {
    pub fn prompt(&self) -> Result<String, ApiError> {
        let prompt = match &self.prompt {
            PromptField::One(text) => text.clone(),
            PromptField::Many(list) if list.len() == 1 => list[0].clone(),
            PromptField::Many(_) => {
                return Err(ApiError::bad_request(
                    "prompt must be one string (saar answers one prompt per request)",
                ))
            }
        };
        if prompt.is_empty() {
            return Err(ApiError::bad_request("prompt is empty"));
        }
        Ok(prompt)
    }

    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage)
    }
}

/// `POST /v1/summarize` and `POST /v1/translate`.
#[derive(Debug, Deserialize)]
pub(crate) struct ArticleRequest {
    pub text: String,
    pub model: Option<String>,
    pub lang: Option<String>,
    pub length: Option<String>,
    #[serde(default)]
    pub check: bool,
    #[serde(default)]
    pub keep_boilerplate: bool,
    #[serde(default)]
    pub stream: bool,
    #[serde(flatten)]
    pub sampling: Sampling,
}

impl ArticleRequest {
    /// The settings, with the summary's language and length.
    pub fn settings(&self) -> Result<TaskSettings, ApiError> {
        let mut settings = self.sampling.settings()?;
        if let Some(lang) = &self.lang {
            settings.lang = lang.parse::<Lang>().map_err(|_| {
                ApiError::bad_request(format!("lang `{lang}`: expected \"en\" or \"hi\""))
            })?;
        }
        if let Some(length) = &self.length {
            settings.length = length.parse::<Length>().map_err(|_| {
                ApiError::bad_request(format!(
                    "length `{length}`: expected \"short\", \"medium\" or \"long\""
                ))
            })?;
        }
        settings.check = self.check;
        Ok(settings)
    }

    /// The article checked as `saar summarize` checks a file (empty, binary, huge),
    /// then normalized and cleaned.
    pub fn article(&self) -> Result<saar::text::Prepared, ApiError> {
        let text = saar::text::validate_input(self.text.clone().into_bytes(), "text")
            .map_err(|err| ApiError::unprocessable(saar::error::one_line(&err)))?;
        Ok(saar::text::prepare(
            &text,
            saar::text::PrepareOptions {
                normalize: true,
                clean: !self.keep_boilerplate,
            },
        ))
    }
}

/// Parses a JSON body, answering 400 with serde's reason when it does not fit.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|err| ApiError::bad_request(format!("the request body is not valid: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_fields_become_settings_and_bad_values_are_named() {
        let req: ChatRequest = parse(
            r#"{"messages": [{"role": "user", "content": [{"type": "text", "text": "नमस्ते"}]}],
                 "max_tokens": 7, "temperature": 0.5, "top_k": 3, "stop": "\n", "seed": 1,
                 "repetition_penalty": 1.0, "logprobs": false}"#
                .as_bytes(),
        )
        .unwrap();
        let settings = req.sampling.settings().unwrap();
        assert_eq!(settings.generation.max_new_tokens, 7);
        assert_eq!(settings.generation.top_k, Some(3));
        assert_eq!(settings.generation.repeat_penalty, 1.0);
        assert_eq!(settings.stop.strings, vec!["\n".to_string()]);
        assert_eq!(req.messages().unwrap()[0].content, "नमस्ते");

        let bad: ChatRequest =
            parse(br#"{"messages": [{"role": "user", "content": "x"}], "top_p": 2}"#).unwrap();
        let err = bad.sampling.settings().unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.message, "top_p must be in (0, 1]");
        assert_eq!(parse::<ChatRequest>(b"{").unwrap_err().status, 400);
    }

    #[test]
    fn article_requests_refuse_empty_and_binary_text_with_422() {
        for text in ["   \n ", "abc\u{0}\u{0}\u{0}\u{0}def"] {
            let req = ArticleRequest {
                text: text.into(),
                model: None,
                lang: None,
                length: None,
                check: false,
                keep_boilerplate: false,
                stream: false,
                sampling: Sampling::default(),
            };
            assert_eq!(req.article().unwrap_err().status, 422, "{text:?}");
        }
    }
}
