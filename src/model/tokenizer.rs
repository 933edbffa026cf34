//! The model's tokenizer and what surrounds it: special tokens, EOS ids from
//! `generation_config.json` and `tokenizer_config.json`, the chat template source,
//! and a UTF-8-safe incremental decoder for streaming.
//! (Contract stub: the tokenizer helper fills it.)
