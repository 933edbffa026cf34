#!/usr/bin/env python3
"""llama.cpp's tokenizer test suite run against `saar tokenize`.

llama.cpp ships vocab-only GGUF files (`models/ggml-vocab-*.gguf`) with test
cases: `.inp` holds the texts separated by `__ggml_vocab_test__` lines, `.out` one
line of expected ids per text (made with the models' HF tokenizers, without added
special tokens; `tests/test-tokenizer-0.cpp` reads them so). This runs every case of
every vocabulary through `saar tokenize --no-special` and prints a pass table.
The files stay where llama.cpp's source put them; pass that folder.

    scripts/llama_vocab/conformance.py --saar target/release/saar \
        --models /work/refs/llama.cpp/models [--show-failures 3]
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

SEPARATOR = "\n__ggml_vocab_test__\n"


def cases(inp: pathlib.Path, out: pathlib.Path):
    texts = inp.read_text(encoding="utf-8").split(SEPARATOR)
    # The file ends with a separator line, leaving one empty piece after it.
    if texts and texts[-1] == "":
        texts = texts[:-1]
    expected = [
        [int(t) for t in line.split()]
        for line in out.read_text(encoding="utf-8").split("\n")
    ]
    return list(zip(texts, expected))


def tokenize_all(saar: str, vocab: pathlib.Path, texts, folder: pathlib.Path):
    """Ids of every text from one `saar tokenize` run (one file per text)."""
    paths = []
    for i, text in enumerate(texts):
        path = folder / f"case{i:03}.txt"
        path.write_bytes(text.encode("utf-8"))
        paths.append(str(path))
    run = subprocess.run(
        [saar, "tokenize", "--offline", "--no-special", "--format", "json",
         "--model", str(vocab)] + paths,
        capture_output=True, text=True,
    )
    if run.returncode != 0:
        return None, run.stderr.strip()
    return [json.loads(line)["ids"] for line in run.stdout.splitlines()], None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saar", default="target/release/saar")
    parser.add_argument("--models", required=True, help="llama.cpp's models/ folder")
    parser.add_argument("--show-failures", type=int, default=2)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for vocab in sorted(pathlib.Path(args.models).glob("ggml-vocab-*.gguf")):
            inp = vocab.with_name(vocab.name + ".inp")
            out = vocab.with_name(vocab.name + ".out")
            name = vocab.name[len("ggml-vocab-"):-len(".gguf")]
            if not inp.exists() or not out.exists():
                rows.append((name, "no test cases", 0, 0))
                continue
            all_cases = cases(inp, out)
            got, refused = tokenize_all(args.saar, vocab, [t for t, _ in all_cases], pathlib.Path(tmp))
            if refused is not None:
                rows.append((name, "refused: " + refused.splitlines()[0], 0, len(all_cases)))
                continue
            passed, failures = 0, []
            for (text, expected), ids in zip(all_cases, got):
                if ids == expected:
                    passed += 1
                else:
                    failures.append((text, expected, ids))
            rows.append((name, "run", passed, len(all_cases)))
            for text, expected, ids in failures[: args.show_failures]:
                print(f"{name}: {text!r}\n  llama.cpp {expected}\n  saar      {ids}",
                      file=sys.stderr)
    print("| vocab | status | passed |")
    print("|---|---|---|")
    for name, status, passed, total in rows:
        shown = f"{passed}/{total}" if total else "-"
        print(f"| {name} | {status} | {shown} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
