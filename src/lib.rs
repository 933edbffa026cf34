//! saar: Hindi news to English, computed locally with open models.
//!
//! The pipeline reads top to bottom through the modules:
//! [`text`] (normalize, clean, split, chunk) → [`prompt`] (task templates inside the
//! model's chat template) → [`engine`] (a loaded model turning tokens into tokens) →
//! [`task`] (summarize, translate). [`model`] resolves `--model` to files on disk,
//! and [`score`] measures outputs. The CLI in `src/cli` is a thin edge over this library.

mod calendar;
pub mod engine;
pub mod error;
pub mod model;
pub mod prompt;
pub mod score;
pub mod synth;
pub mod task;
pub mod text;

pub use error::{Error, Result};
