"""Tiny tokenizers shaped like the real ones of each family, trained on the project's own
sentences. Each keeps the pieces of the real `tokenizer.json` that change token ids:
Qwen's and Llama 3's split regexes (whose `\\p{L}` splits Devanagari words at vowel
signs), byte-level BPE, Llama 3's `ignore_merges` and BOS post-processor, and Gemma's
SentencePiece-style BPE with `▁` for spaces and `<0xNN>` byte fallback.
"""

import json

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

from parity_text import training_corpus

QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Special tokens in the order the real vocabularies hold them.
QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
LLAMA_SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|eot_id|>",
]
GEMMA_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]


def _byte_level(split_regex, vocab_size, ignore_merges, normalizer):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(split_regex), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(training_corpus(), trainer)
    return tok


def qwen_tokenizer(vocab_size, extra_added=()):
    """Qwen2/Qwen3: NFC, Qwen's split regex, byte-level BPE, specials after the vocab."""
    tok = _byte_level(QWEN_SPLIT, vocab_size, ignore_merges=False, normalizer=normalizers.NFC())
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.add_special_tokens(QWEN_SPECIALS)
    if extra_added:
        tok.add_tokens(list(extra_added))
    return tok


def llama_tokenizer(vocab_size):
    """Llama 3: no normalizer, Llama 3's split regex, ignore_merges, BOS prepended."""
    tok = _byte_level(LLAMA3_SPLIT, vocab_size, ignore_merges=True, normalizer=None)
    tok.add_special_tokens(LLAMA_SPECIALS)
    bos = "<|begin_of_text|>"
    bos_id = tok.token_to_id(bos)
    tok.post_processor = processors.Sequence(
        [
            processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
            processors.TemplateProcessing(
                single=f"{bos} $A",
                pair=f"{bos} $A {bos} $B:1",
                special_tokens=[(bos, bos_id)],
            ),
        ]
    )
    return tok


def gemma_tokenizer(vocab_size):
    """Gemma 3: spaces become `▁`, no pre-tokenizer, BPE with `<0xNN>` byte fallback,
    specials at the front of the vocabulary, `<bos>` prepended."""
    # Train on whitespace-split words so that no merge crosses a word boundary, as
    # SentencePiece's training does; the saved tokenizer then runs BPE on whole text.
    trainer_tok = Tokenizer(models.BPE())
    trainer_tok.normalizer = normalizers.Replace(" ", "▁")
    trainer_tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never")
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - 256 - len(GEMMA_SPECIALS), show_progress=False)
    trainer_tok.train_from_iterator(training_corpus(), trainer)

    learned = trainer_tok.get_vocab()
    vocab = {}
    for piece in GEMMA_SPECIALS + [f"<0x{b:02X}>" for b in range(256)]:
        vocab[piece] = len(vocab)
    for piece, _ in sorted(learned.items(), key=lambda kv: kv[1]):
        if piece not in vocab:
            vocab[piece] = len(vocab)
    merges = _merges_of(trainer_tok)

    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    tok.add_special_tokens(GEMMA_SPECIALS)
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A", pair="<bos> $A $B", special_tokens=[("<bos>", vocab["<bos>"])]
    )
    return tok


def _merges_of(tok):
    model = json.loads(tok.to_str())["model"]
    return [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
