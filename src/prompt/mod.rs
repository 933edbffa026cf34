//! Prompts: the task templates in `prompts/` (embedded, overridable with `--prompts`)
//! rendered inside the model's own chat template with minijinja.
//! (Contract stub: the prompt helper fills it.)

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("{0}")]
    Other(String),
}
