//! f32/f16/bf16 weights times f32 activations (owned by the dense-kernel work).
