//! GGUF block-quantized weights times f32 activations (owned by the quantized-kernel work).
