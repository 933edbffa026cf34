//! The model's tokenizer and what surrounds it: special tokens, EOS ids from
//! `generation_config.json`, `tokenizer_config.json` and GGUF metadata, the chat
//! template source, and a UTF-8-safe incremental decoder for streaming.

mod config;
mod gguf;
mod gguf_bpe;
mod gguf_spm;
mod stream;

use std::path::Path;

use tokenizers::Tokenizer;

pub(crate) use self::gguf_spm::merges_from_scores;
pub use stream::TokenStream;

use self::config::{read_generation_eos, read_tokenizer_config, ChatSource};
use self::gguf::{build_tokenizer, read_gguf_meta, GgufTokenizerMeta};
use super::{ModelFiles, Weights};
use crate::prompt::{ChatTemplate, PromptError, SpecialTokens};
use crate::text::TokenCounter;

/// Errors from finding, reading or using a model's tokenizer.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error(
        "model {model} has no tokenizer.json; put the model's tokenizer.json beside its weights"
    )]
    Missing { model: String },
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path} is not a valid {what} ({message}); delete it and download it again")]
    Invalid {
        path: String,
        what: &'static str,
        message: String,
    },
    #[error("{path}: saar cannot rebuild a {kind} tokenizer from GGUF metadata; put the model's tokenizer.json beside the .gguf file")]
    UnsupportedGguf { path: String, kind: String },
    #[error("the tokenizer failed to {action} text: {message}")]
    Codec {
        action: &'static str,
        message: String,
    },
}

/// A model's tokenizer with its special tokens, EOS ids and chat template source.
#[derive(Debug, Clone)]
pub struct ModelTokenizer {
    tokenizer: Tokenizer,
    special: SpecialTokens,
    eos_ids: Vec<u32>,
    chat_source: ChatSource,
    model_name: String,
}

impl ModelTokenizer {
    /// Loads the tokenizer of `files`: `tokenizer.json`, or for a `.gguf` without one
    /// a byte-level BPE rebuilt from the GGUF metadata.
    pub fn load(files: &ModelFiles) -> Result<Self, TokenizerError> {
        let gguf = match &files.weights {
            Weights::Gguf(path) => Some((path.as_path(), read_gguf_meta(path)?)),
            _ => None,
        };
        let tokenizer = match (&files.tokenizer, &gguf) {
            (Some(path), _) => load_tokenizer_json(path)?,
            (None, Some((path, meta))) => build_tokenizer(meta, path)?,
            (None, None) => {
                return Err(TokenizerError::Missing {
                    model: files.name.clone(),
                })
            }
        };
        let config = files
            .tokenizer_config
            .as_deref()
            .map(read_tokenizer_config)
            .transpose()?;
        let mut generation_eos = match files.generation_config.as_deref() {
            Some(path) => read_generation_eos(path)?,
            None => Vec::new(),
        };
        let meta = gguf.as_ref().map(|(_, meta)| meta);
        if let Some(meta) = meta {
            generation_eos.extend(meta.end_of_generation_ids());
        }
        let special = match (&config, meta) {
            (Some(config), _) => config.special.clone(),
            (None, Some(meta)) => gguf_special_tokens(meta),
            (None, None) => SpecialTokens::default(),
        };
        let chat_source = chat_source(
            files.chat_template.as_deref(),
            config.map(|c| c.chat_template),
            gguf.as_ref()
                .and_then(|(path, meta)| gguf_chat_source(path, meta)),
        )?;
        Ok(Self::from_parts(
            tokenizer,
            special,
            &generation_eos,
            chat_source,
            &files.name,
        ))
    }

    /// A tokenizer built in memory (tests, synthetic models): EOS ids are
    /// `extra_eos_ids` plus the id of `special.eos`.
    pub fn from_tokenizer(
        tokenizer: Tokenizer,
        special: SpecialTokens,
        extra_eos_ids: &[u32],
        chat_template: Option<String>,
    ) -> Self {
        let source = match chat_template {
            Some(text) => ChatSource::Found {
                text,
                origin: "in-memory chat template".into(),
            },
            None => ChatSource::Missing,
        };
        Self::from_parts(
            tokenizer,
            special,
            extra_eos_ids,
            source,
            "in-memory tokenizer",
        )
    }

    fn from_parts(
        tokenizer: Tokenizer,
        special: SpecialTokens,
        eos_ids: &[u32],
        chat_source: ChatSource,
        model_name: &str,
    ) -> Self {
        let mut eos_ids = eos_ids.to_vec();
        eos_ids.extend(
            special
                .eos
                .as_deref()
                .and_then(|t| tokenizer.token_to_id(t)),
        );
        eos_ids.sort_unstable();
        eos_ids.dedup();
        Self {
            tokenizer,
            special,
            eos_ids,
            chat_source,
            model_name: model_name.to_string(),
        }
    }

    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>, TokenizerError> {
        self.tokenizer
            .encode(text, add_special_tokens)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| TokenizerError::Codec {
                action: "encode",
                message: e.to_string(),
            })
    }

    /// Text of `ids`, without special tokens.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| TokenizerError::Codec {
                action: "decode",
                message: e.to_string(),
            })
    }

    /// Every id that ends generation, sorted.
    pub fn eos_token_ids(&self) -> &[u32] {
        &self.eos_ids
    }

    pub fn special_tokens(&self) -> &SpecialTokens {
        &self.special
    }

    /// The chat template text, if the model has one.
    pub fn chat_template_source(&self) -> Option<&str> {
        match &self.chat_source {
            ChatSource::Found { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The model's chat template, compiled, with its special tokens reserved so
    /// message contents cannot produce them.
    pub fn chat_template(&self) -> Result<ChatTemplate, PromptError> {
        match &self.chat_source {
            ChatSource::Found { text, origin } => {
                Ok(
                    ChatTemplate::new(text.clone(), origin.clone(), self.special.clone())?
                        .with_reserved_tokens(self.reserved_tokens()),
                )
            }
            ChatSource::Missing => Err(PromptError::NoChatTemplate {
                model: self.model_name.clone(),
            }),
            ChatSource::Bad { path, message } => Err(PromptError::BadChatTemplateField {
                path: path.clone(),
                message: message.clone(),
            }),
        }
    }

    /// The strings of the special (control) tokens, longest first.
    fn reserved_tokens(&self) -> Vec<String> {
        let mut tokens: Vec<String> = self
            .tokenizer
            .get_added_tokens_decoder()
            .into_values()
            .filter(|t| t.special && !t.content.is_empty())
            .map(|t| t.content)
            .collect();
        tokens.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        tokens
    }

    /// An incremental decoder for printing generated tokens as they come.
    pub fn stream(&self) -> TokenStream<'_> {
        TokenStream::new(&self.tokenizer)
    }

    pub fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }

    /// The underlying `tokenizers` tokenizer.
    pub fn inner(&self) -> &Tokenizer {
        &self.tokenizer
    }
}

impl TokenCounter for ModelTokenizer {
    /// Tokens without special tokens; a text the tokenizer cannot encode counts as
    /// its byte length, which over-counts and so keeps chunks within budget.
    fn count(&self, text: &str) -> usize {
        self.encode(text, false).map_or(text.len(), |ids| ids.len())
    }
}

fn load_tokenizer_json(path: &Path) -> Result<Tokenizer, TokenizerError> {
    Tokenizer::from_file(path).map_err(|e| TokenizerError::Invalid {
        path: path.display().to_string(),
        what: "tokenizer.json",
        message: e.to_string(),
    })
}

fn gguf_special_tokens(meta: &GgufTokenizerMeta) -> SpecialTokens {
    SpecialTokens {
        bos: meta.token(meta.bos_id),
        eos: meta.token(meta.eos_id),
        unk: meta.token(meta.unk_id),
        pad: meta.token(meta.pad_id),
    }
}

fn gguf_chat_source(path: &Path, meta: &GgufTokenizerMeta) -> Option<ChatSource> {
    meta.chat_template.as_ref().map(|text| ChatSource::Found {
        text: text.clone(),
        origin: format!("{} (tokenizer.chat_template)", path.display()),
    })
}

/// `chat_template.jinja` wins over `tokenizer_config.json`, which wins over GGUF.
fn chat_source(
    jinja_file: Option<&Path>,
    from_config: Option<ChatSource>,
    from_gguf: Option<ChatSource>,
) -> Result<ChatSource, TokenizerError> {
    if let Some(path) = jinja_file {
        let text = std::fs::read_to_string(path).map_err(|e| TokenizerError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        return Ok(ChatSource::Found {
            text,
            origin: path.display().to_string(),
        });
    }
    Ok(match (from_config, from_gguf) {
        (Some(ChatSource::Missing) | None, Some(gguf)) => gguf,
        (Some(config), _) => config,
        (None, None) => ChatSource::Missing,
    })
}
