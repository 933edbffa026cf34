//! Behaviour of the text pipeline (input, normalization, cleaning, segmentation,
//! chunking) on Hindi and mixed Hindi/English passages written for the project.

#[path = "text/chunk_cases.rs"]
mod chunk_cases;
#[path = "text/clean_cases.rs"]
mod clean_cases;
#[path = "text/cleaning_set_cases.rs"]
mod cleaning_set_cases;
#[path = "text/input_cases.rs"]
mod input_cases;
#[path = "text/labelled.rs"]
mod labelled;
#[path = "text/normalize_cases.rs"]
mod normalize_cases;
#[path = "text/segment_cases.rs"]
mod segment_cases;
#[path = "text/support.rs"]
mod support;
