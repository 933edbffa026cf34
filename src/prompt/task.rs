//! Task templates (`prompts/*.j2`): the built-in ones embedded in the binary, and
//! overrides from a directory. They turn an article and its settings into the
//! system and user messages of a chat.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use regex::Regex;
use sha2::{Digest, Sha256};

use super::neutralise::{delimiter_regex, delimiter_tags, neutralise_delimiters};
use super::{Message, PromptError};

/// What a prompt asks the model to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Summarize,
    Translate,
    /// Merge the partial summaries of a long article into one.
    Combine,
}

impl Task {
    pub const ALL: [Task; 3] = [Task::Summarize, Task::Translate, Task::Combine];

    pub fn name(self) -> &'static str {
        match self {
            Task::Summarize => "summarize",
            Task::Translate => "translate",
            Task::Combine => "combine",
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The language to write in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Hi,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Hi => "hi",
        }
    }
}

impl FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "en" | "english" => Ok(Lang::En),
            "hi" | "hindi" => Ok(Lang::Hi),
            other => Err(format!("unknown language `{other}`: use en or hi")),
        }
    }
}

/// How long a summary should be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Length {
    Short,
    #[default]
    Medium,
    Long,
}

impl Length {
    pub fn name(self) -> &'static str {
        match self {
            Length::Short => "short",
            Length::Medium => "medium",
            Length::Long => "long",
        }
    }
}

impl FromStr for Length {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "short" => Ok(Length::Short),
            "medium" => Ok(Length::Medium),
            "long" => Ok(Length::Long),
            other => Err(format!(
                "unknown length `{other}`: use short, medium or long"
            )),
        }
    }
}

/// The variables a task template sees: `text`, `parts`, `lang`, `length` (and `task`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromptVars {
    /// The article (summarize, translate) or the joined partial summaries (combine).
    pub text: String,
    /// The partial summaries, in article order (combine); empty otherwise.
    pub parts: Vec<String>,
    pub lang: Lang,
    pub length: Length,
}

impl PromptVars {
    /// An article, to be written in English at medium length.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    /// Partial summaries of one article, in order, for [`Task::Combine`].
    pub fn combine(parts: Vec<String>) -> Self {
        Self {
            text: parts.join("\n\n"),
            parts,
            ..Self::default()
        }
    }

    pub fn with_lang(mut self, lang: Lang) -> Self {
        self.lang = lang;
        self
    }

    pub fn with_length(mut self, length: Length) -> Self {
        self.length = length;
        self
    }
}

const SYSTEM: &str = "system";

/// The built-in templates, in the order they enter [`TaskPrompts::hash`].
const EMBEDDED: [(&str, &str); 4] = [
    (SYSTEM, include_str!("../../prompts/system.j2")),
    ("summarize", include_str!("../../prompts/summarize.j2")),
    ("translate", include_str!("../../prompts/translate.j2")),
    ("combine", include_str!("../../prompts/combine.j2")),
];

/// One template in use: where it came from and what it says.
#[derive(Debug, Clone)]
struct Source {
    origin: String,
    text: String,
    delimiters: Regex,
}

/// The task templates in use, compiled.
#[derive(Debug, Clone)]
pub struct TaskPrompts {
    env: Environment<'static>,
    sources: BTreeMap<&'static str, Source>,
}

impl TaskPrompts {
    /// The templates built into the binary.
    pub fn embedded() -> Self {
        let sources = EMBEDDED.iter().map(|(name, text)| {
            (
                *name,
                format!("built-in prompts/{name}.j2"),
                text.to_string(),
            )
        });
        // The embedded templates are tested to compile; an error here is a build defect.
        match Self::compile(sources) {
            Ok(prompts) => prompts,
            Err(err) => panic!("built-in prompt templates must compile: {err}"),
        }
    }

    /// The built-in templates, with `DIR/<task>.j2` and `DIR/system.j2` replacing
    /// those that exist in `dir`.
    pub fn from_dir(dir: &Path) -> Result<Self, PromptError> {
        let read_err = |path: &Path, err: std::io::Error| PromptError::Read {
            path: path.display().to_string(),
            message: err.to_string(),
        };
        let entries = std::fs::read_dir(dir).map_err(|e| read_err(dir, e))?;
        let mut overrides: BTreeMap<String, (String, String)> = BTreeMap::new();
        for entry in entries {
            let path = entry.map_err(|e| read_err(dir, e))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("j2") {
                continue;
            }
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if !EMBEDDED.iter().any(|(name, _)| *name == stem) {
                return Err(PromptError::UnknownTemplate {
                    path: path.display().to_string(),
                    expected: "system.j2, summarize.j2, translate.j2, combine.j2".into(),
                });
            }
            let text = std::fs::read_to_string(&path).map_err(|e| read_err(&path, e))?;
            overrides.insert(stem.to_string(), (path.display().to_string(), text));
        }
        let sources = EMBEDDED
            .iter()
            .map(|(name, text)| match overrides.remove(*name) {
                Some((origin, text)) => (*name, origin, text),
                None => (
                    *name,
                    format!("built-in prompts/{name}.j2"),
                    text.to_string(),
                ),
            });
        let prompts = Self::compile(sources)?;
        for (name, needs) in INPUT_VARIABLES {
            prompts.check_uses_input(name, needs)?;
        }
        Ok(prompts)
    }

    /// Refuses a task template that never mentions its input variable: the model would
    /// be asked about an article it never sees.
    fn check_uses_input(&self, name: &str, needs: &[&str]) -> Result<(), PromptError> {
        let used = self
            .env
            .get_template(name)
            .map(|t| t.undeclared_variables(false))
            .unwrap_or_default();
        if needs.iter().any(|var| used.contains(*var)) {
            return Ok(());
        }
        Err(PromptError::MissingInput {
            origin: self
                .sources
                .get(name)
                .map_or(name, |s| &s.origin)
                .to_string(),
            needs: needs.join(" }} or {{ "),
        })
    }

    fn compile(
        sources: impl Iterator<Item = (&'static str, String, String)>,
    ) -> Result<Self, PromptError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // A typo in an override should fail loudly, not render as empty text.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut compiled = BTreeMap::new();
        for (name, origin, text) in sources {
            env.add_template_owned(name, text.clone())
                .map_err(|err| syntax_error(&origin, &err))?;
            let delimiters = delimiter_regex(&delimiter_tags(&text));
            compiled.insert(
                name,
                Source {
                    origin,
                    text,
                    delimiters,
                },
            );
        }
        Ok(Self {
            env,
            sources: compiled,
        })
    }

    /// Where the template for `task` comes from: a path, or `built-in prompts/<task>.j2`.
    pub fn origin(&self, task: Task) -> &str {
        self.sources
            .get(task.name())
            .map_or("", |s| s.origin.as_str())
    }

    /// The system message and the user message for `task`. A system template that
    /// renders empty sends no system message at all: chat templates treat an empty
    /// one differently from none (some print an empty system turn).
    pub fn render(&self, task: Task, vars: &PromptVars) -> Result<Vec<Message>, PromptError> {
        let system = self.render_one(SYSTEM, task, vars)?;
        let user = self.render_one(task.name(), task, vars)?;
        let system = (!system.is_empty()).then(|| Message::system(system));
        Ok(system.into_iter().chain([Message::user(user)]).collect())
    }

    fn render_one(&self, name: &str, task: Task, vars: &PromptVars) -> Result<String, PromptError> {
        let Some(source) = self.sources.get(name) else {
            return Err(PromptError::Read {
                path: name.to_string(),
                message: "no such template".into(),
            });
        };
        let clean = |s: &str| neutralise_delimiters(s, &source.delimiters);
        let parts: Vec<String> = vars.parts.iter().map(|p| clean(p)).collect();
        let ctx = minijinja::context! {
            task => task.name(),
            text => clean(&vars.text),
            parts => parts,
            lang => vars.lang.code(),
            length => vars.length.name(),
        };
        let rendered = self
            .env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|err| PromptError::Render {
                origin: source.origin.clone(),
                line: err.line().unwrap_or(0),
                message: one_line(&err),
            })?;
        Ok(rendered.trim().to_string())
    }

    /// A SHA-256 (hex) of the templates in use, so batch records say which prompts
    /// produced them. Equal templates give equal hashes on every machine.
    pub fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        for (name, _) in EMBEDDED {
            let text = self.sources.get(name).map_or("", |s| s.text.as_str());
            hasher.update(name.as_bytes());
            hasher.update([0u8]);
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The variables that carry each task template's input: a template must use one.
const INPUT_VARIABLES: [(&str, &[&str]); 3] = [
    ("summarize", &["text"]),
    ("translate", &["text"]),
    ("combine", &["parts", "text"]),
];

/// A minijinja error as one line: its kind and detail, without the source excerpt.
pub(crate) fn one_line(err: &minijinja::Error) -> String {
    let message = match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    };
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) fn syntax_error(origin: &str, err: &minijinja::Error) -> PromptError {
    PromptError::Syntax {
        origin: origin.to_string(),
        line: err.line().unwrap_or(0),
        message: one_line(err),
    }
}
