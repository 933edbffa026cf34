//! Tasks built from the stages: summarize (map-reduce for long texts) and translate.
