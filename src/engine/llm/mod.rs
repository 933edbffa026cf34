//! Decoder-only LLMs (qwen2, qwen3, llama, gemma3) from safetensors or GGUF.
//! (Contract stub: the engine helper fills it.)

use super::{CausalLm, EngineError, Placement};
use crate::model::ModelFiles;

/// Loads the model that `files` describes, choosing the architecture from
/// `config.json` `model_type` or GGUF `general.architecture`.
pub fn load(files: &ModelFiles, placement: &Placement) -> Result<Box<dyn CausalLm>, EngineError> {
    let _ = (files, placement);
    unimplemented!("engine helper")
}
