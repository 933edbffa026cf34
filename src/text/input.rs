//! Reading the article: from a file or standard input, into a `String` that the rest
//! of the pipeline can trust. Every way the input can be unusable has its own error,
//! and each error says what to do about it.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Inputs above this size are refused: a news article is a few kilobytes, and a model
/// would take hours over 32 MiB of text anyway.
pub const MAX_INPUT_BYTES: usize = 32 * 1024 * 1024;

/// Share of control characters above which a text is treated as binary data.
const MAX_CONTROL_SHARE: f64 = 0.10;

const STDIN_NAME: &str = "standard input";

/// Input that cannot be processed.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("input file {} does not exist: check the path, or pass - to read standard input", path.display())]
    NotFound { path: PathBuf },
    // The I/O error is part of the message, not a separate cause: printed with its
    // causes, it would say the same thing twice.
    #[error("cannot read {name}: {error}; check that it is a readable file")]
    Unreadable { name: String, error: std::io::Error },
    #[error("{} is a directory: give an article file, or use `saar batch` for a folder of articles", path.display())]
    IsDirectory { path: PathBuf },
    #[error("{name} is empty or only whitespace: give it the text of an article")]
    Empty { name: String },
    #[error("{name} is not valid UTF-8 (first bad byte at offset {offset}): convert it first, e.g. `iconv -f WINDOWS-1252 -t UTF-8`")]
    InvalidUtf8 { name: String, offset: usize },
    #[error("{name} is UTF-16 text: convert it first with `iconv -f UTF-16 -t UTF-8`")]
    Utf16 { name: String },
    #[error("{name} looks like binary data ({evidence}): give a plain-text file")]
    Binary { name: String, evidence: String },
    #[error("{name} is larger than the {limit_mib} MiB limit: split it into smaller files (e.g. `split -C 16M input.txt part-`) and process each")]
    TooLarge { name: String, limit_mib: usize },
    #[error("{0}")]
    Other(String),
}

/// Reads and validates the article at `path`; `-` means standard input.
pub fn read_input(path: impl AsRef<Path>) -> Result<String, InputError> {
    let path = path.as_ref();
    if path == Path::new("-") {
        return read_input_from(std::io::stdin().lock(), STDIN_NAME);
    }
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => InputError::NotFound {
            path: path.to_path_buf(),
        },
        _ => InputError::Unreadable {
            name: name.clone(),
            error: source,
        },
    })?;
    if file.metadata().is_ok_and(|meta| meta.is_dir()) {
        return Err(InputError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let too_large = file
        .metadata()
        .is_ok_and(|meta| meta.len() > MAX_INPUT_BYTES as u64);
    if too_large {
        return Err(InputError::TooLarge {
            name,
            limit_mib: MAX_INPUT_BYTES >> 20,
        });
    }
    read_input_from(file, &name)
}

/// Reads at most [`MAX_INPUT_BYTES`] from `reader` and validates them; `name` is how
/// errors refer to the source.
pub fn read_input_from(reader: impl Read, name: &str) -> Result<String, InputError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| InputError::Unreadable {
            name: name.to_string(),
            error,
        })?;
    validate_input(bytes, name)
}

/// Turns raw bytes into article text: refuses oversized, UTF-16, binary, non-UTF-8 and
/// empty input, and strips a UTF-8 byte-order mark.
pub fn validate_input(bytes: Vec<u8>, name: &str) -> Result<String, InputError> {
    let name = name.to_string();
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge {
            name,
            limit_mib: MAX_INPUT_BYTES >> 20,
        });
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(InputError::Utf16 { name });
    }
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(InputError::Binary {
            name,
            evidence: format!("NUL byte at offset {offset}"),
        });
    }
    let mut text = String::from_utf8(bytes).map_err(|e| InputError::InvalidUtf8 {
        name: name.clone(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    if let Some(share) = control_share(&text).filter(|&share| share > MAX_CONTROL_SHARE) {
        let percent = (share * 100.0).round();
        return Err(InputError::Binary {
            name,
            evidence: format!("{percent}% control characters"),
        });
    }
    if text.starts_with('\u{FEFF}') {
        text.drain(..'\u{FEFF}'.len_utf8());
    }
    if text
        .chars()
        .all(|c| c.is_whitespace() || super::normalize::is_invisible(c))
    {
        return Err(InputError::Empty { name });
    }
    Ok(text)
}

/// Share of characters that are control codes other than tab, line feed, carriage
/// return and form feed; `None` for empty text.
fn control_share(text: &str) -> Option<f64> {
    let (mut total, mut control) = (0usize, 0usize);
    for c in text.chars() {
        total += 1;
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{0C}') {
            control += 1;
        }
    }
    (total > 0).then(|| control as f64 / total as f64)
}
