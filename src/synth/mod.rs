//! Synthetic models: random weights of a chosen shape, with real configs, a real
//! tokenizer built with the tokenizers crate and a real chat template. Tests drive
//! the whole binary with tiny ones; `saar bench` measures speed on real-shaped ones.
//! (Contract stub: the synth helper fills it.)
