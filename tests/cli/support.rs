//! Shared helpers for the end-to-end tests: tiny models on disk and a way to run the
//! real `saar` binary against them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use candle_core::DType;
use saar::synth::{self, Arch, GgufQuant, ModelTemplate, Shape};

pub const ARTICLE: &str = "examples/articles/nagpur-metro.txt";

pub const ARCHES: [Arch; 4] = [Arch::Qwen2, Arch::Qwen3, Arch::Llama, Arch::Gemma3];

/// The family's real chat template, as the model ships it.
pub fn real_template(arch: Arch) -> ModelTemplate {
    let source = match arch {
        Arch::Qwen2 => include_str!("../fixtures/chat_templates/qwen2.jinja"),
        Arch::Qwen3 => include_str!("../fixtures/chat_templates/qwen3.jinja"),
        Arch::Llama => include_str!("../fixtures/chat_templates/llama.jinja"),
        Arch::Gemma3 => include_str!("../fixtures/chat_templates/gemma3.jinja"),
    };
    ModelTemplate::new(source)
}

/// Writes a tiny safetensors model folder for `arch` under `root`.
pub fn tiny_dir(root: &Path, arch: Arch, shape: &Shape) -> PathBuf {
    let dir = root.join(format!("{arch:?}-st"));
    synth::write_safetensors_model(&dir, shape, DType::F32, 7, &real_template(arch))
        .expect("write model");
    dir
}

/// Writes a tiny GGUF model (tokenizer inside the file) for `arch` under `root`.
pub fn tiny_gguf(root: &Path, arch: Arch, shape: &Shape) -> PathBuf {
    let path = root.join(format!("{arch:?}.gguf"));
    synth::write_gguf_model(&path, shape, GgufQuant::Q8_0, 7, &real_template(arch))
        .expect("write gguf");
    path
}

/// A copy of the tiny Marian fixture under `root` (without a tokenizer cache, which a
/// load writes beside the model): tests never write into the fixture folder.
#[allow(dead_code)]
pub fn marian_copy(root: &Path) -> PathBuf {
    let dir = root.join("opus-mt-tiny");
    std::fs::create_dir_all(&dir).expect("model folder");
    for entry in std::fs::read_dir("tests/fixtures/marian/tiny").expect("fixture") {
        let path = entry.expect("fixture entry").path();
        let name = path.file_name().expect("file name");
        if !name.to_string_lossy().ends_with(".tokenizer.json") {
            std::fs::copy(&path, dir.join(name)).expect("copy");
        }
    }
    dir
}

/// Runs `saar` with `args`, feeding `stdin`, in the repository root, with a private
/// empty HF cache so no test ever touches the user's cache or the network.
pub fn saar(args: &[&str], stdin: &[u8], cache: &Path) -> Output {
    saar_at(Path::new(env!("CARGO_BIN_EXE_saar")), args, stdin, cache)
}

/// [`saar`] with another build of the binary (`bin`).
pub fn saar_at(bin: &Path, args: &[&str], stdin: &[u8], cache: &Path) -> Output {
    let mut command = isolated(bin, cache);
    command.args(args);
    run_with_stdin(command, stdin)
}

/// `bin` in the repository root with a private HF cache, a hub address nothing
/// answers on, and no model or offline setting from the caller's environment; a test
/// that needs a hub or a token sets them on the command.
pub fn isolated(bin: &Path, cache: &Path) -> Command {
    let mut command = Command::new(bin);
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HF_HUB_CACHE", cache)
        .env("HF_HOME", cache)
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .env_remove("SAAR_MODEL")
        .env_remove("HF_HUB_OFFLINE");
    command
}

/// Runs `command`, feeding `stdin`, and collects its output.
pub fn run_with_stdin(mut command: Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start saar");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("feed stdin");
    child.wait_with_output().expect("run saar")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// Asserts a failed run: exit code 1, and one line on stderr with no panic or backtrace.
pub fn assert_one_line_error(output: &Output, expected: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line expected, got: {err}");
    assert!(err.starts_with("saar: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert!(err.contains(expected), "expected `{expected}` in: {err}");
}

/// Parses the single JSON object `saar --format json` prints.
pub fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "saar failed: {}", stderr(output));
    serde_json::from_str(stdout(output).trim()).expect("one JSON object on stdout")
}
