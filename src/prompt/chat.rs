//! The model's own chat template, rendered as HF
//! `tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)`
//! renders it. Chat strings always come from the model's files, never from saar.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use minijinja::value::{Value, ValueKind};
use minijinja::Environment;
use regex::Regex;
use serde::Serialize;

use super::hf_env::hf_environment;
use super::task::{one_line, syntax_error};
use super::{Message, PromptError};

const TEMPLATE_NAME: &str = "chat_template";

/// The special-token strings a chat template may print (`{{ bos_token }}`), as
/// HF's `special_tokens_map` gives them: only those the tokenizer defines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecialTokens {
    pub bos: Option<String>,
    pub eos: Option<String>,
    pub unk: Option<String>,
    pub pad: Option<String>,
}

/// Settings of one rendering besides the messages.
#[derive(Debug, Clone)]
pub struct ChatOptions {
    /// End with the header of an assistant turn, so the model answers next.
    pub add_generation_prompt: bool,
    /// Qwen3's switch for `<think>` reasoning; saar wants answers only.
    pub enable_thinking: bool,
    /// More template variables (such as Llama's `date_string`); they override the
    /// others, as keyword arguments of `apply_chat_template` do.
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Default for ChatOptions {
    fn default() -> Self {
        Self {
            add_generation_prompt: true,
            enable_thinking: false,
            extra: BTreeMap::new(),
        }
    }
}

/// A compiled chat template with the special tokens it prints.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    env: Environment<'static>,
    origin: String,
    source: String,
    special: SpecialTokens,
    reserved: Vec<String>,
}

/// HF's `{% generation %}` block only marks assistant text for training masks; it
/// renders its body unchanged, which an always-true `if` does too.
static GENERATION_OPEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%([-+]?)\s*generation\s*([-+]?)%\}").expect("static regex"));
static GENERATION_CLOSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%([-+]?)\s*endgeneration\s*([-+]?)%\}").expect("static regex"));

impl ChatTemplate {
    /// Compiles `source`; `origin` names where it came from in error messages
    /// (`path/to/chat_template.jinja`, `tokenizer_config.json`, `GGUF metadata`).
    pub fn new(
        source: impl Into<String>,
        origin: impl Into<String>,
        special: SpecialTokens,
    ) -> Result<Self, PromptError> {
        let source = source.into();
        let origin = origin.into();
        let compiled = GENERATION_OPEN.replace_all(&source, "{%${1} if true ${2}%}");
        let compiled = GENERATION_CLOSE
            .replace_all(&compiled, "{%${1} endif ${2}%}")
            .into_owned();
        let mut env = hf_environment();
        env.add_template_owned(TEMPLATE_NAME, compiled)
            .map_err(|err| syntax_error(&origin, &err))?;
        Ok(Self {
            env,
            origin,
            source,
            special,
            reserved: Vec::new(),
        })
    }

    /// Special-token strings that must never be produced by message contents
    /// (see [`super::build_prompt`]).
    pub fn with_reserved_tokens(mut self, tokens: Vec<String>) -> Self {
        self.reserved = tokens;
        self
    }

    pub fn reserved_tokens(&self) -> &[String] {
        &self.reserved
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The template text as the model ships it.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn special_tokens(&self) -> &SpecialTokens {
        &self.special
    }

    /// Renders `messages` with a generation prompt and thinking off.
    pub fn render(&self, messages: &[Message]) -> Result<String, PromptError> {
        self.render_with(messages, &ChatOptions::default())
    }

    /// Renders any serializable list of messages (plain [`Message`]s, or JSON with
    /// content parts and tool calls) with `options`. Message keys whose value is
    /// null are dropped first, as `apply_chat_template` does.
    pub fn render_with<M: Serialize + ?Sized>(
        &self,
        messages: &M,
        options: &ChatOptions,
    ) -> Result<String, PromptError> {
        let mut vars: BTreeMap<String, Value> = BTreeMap::new();
        let tokens = [
            ("bos_token", &self.special.bos),
            ("eos_token", &self.special.eos),
            ("unk_token", &self.special.unk),
            ("pad_token", &self.special.pad),
        ];
        for (name, token) in tokens {
            if let Some(token) = token {
                vars.insert(name.into(), Value::from(token.as_str()));
            }
        }
        let messages = without_nulls(Value::from_serialize(messages));
        vars.insert("messages".into(), messages);
        vars.insert("tools".into(), Value::from(()));
        vars.insert("documents".into(), Value::from(()));
        vars.insert(
            "add_generation_prompt".into(),
            Value::from(options.add_generation_prompt),
        );
        vars.insert(
            "enable_thinking".into(),
            Value::from(options.enable_thinking),
        );
        for (name, value) in &options.extra {
            vars.insert(name.clone(), Value::from_serialize(value));
        }
        self.env
            .get_template(TEMPLATE_NAME)
            .and_then(|t| t.render(Value::from_iter(vars)))
            .map_err(|err| PromptError::Render {
                origin: self.origin.clone(),
                line: err.line().unwrap_or(0),
                message: one_line(&err),
            })
    }
}

/// The messages without the keys of each message whose value is null (key order
/// kept, as Python dicts keep it).
fn without_nulls(messages: Value) -> Value {
    let Ok(items) = messages.try_iter() else {
        return messages;
    };
    if messages.kind() != ValueKind::Seq {
        return messages;
    }
    Value::from_iter(items.map(|message| {
        if message.kind() != ValueKind::Map {
            return message;
        }
        let Ok(keys) = message.try_iter() else {
            return message;
        };
        Value::from_iter(keys.filter_map(|key| {
            let value = message.get_item(&key).ok()?;
            (!value.is_none()).then_some((key, value))
        }))
    }))
}
