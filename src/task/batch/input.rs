//! Finding a corpus's documents: files, directories (every `*.txt` and `*.md` below
//! them, in a stable sorted order), and JSON-lines files of `{"id", "text", …}`.
//! Reading a document is deferred to [`Document::load`], so a corpus of thousands of
//! articles is never held in memory at once and one unreadable file fails alone.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{content_hash, BatchError};
use crate::text::{validate_input, InputError, MAX_INPUT_BYTES};

/// One document of the corpus.
#[derive(Debug, Clone)]
pub struct Document {
    /// The JSONL `id`, else the path relative to the directory given (or the path as given).
    pub id: String,
    /// Where it came from: a file path, or `file.jsonl:LINE` (`-` is standard input).
    pub source: String,
    pub body: DocumentBody,
    /// JSONL fields other than `id` and `text`, carried into the record.
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub enum DocumentBody {
    File(PathBuf),
    Inline(String),
    /// A JSONL line that does not hold a document; the message says why.
    Invalid(String),
}

impl Document {
    /// Reads the document: the SHA-256 of its raw content (for the resume key, so even
    /// a bad document is recognised when it has not changed) and its text or why it is
    /// unusable.
    pub fn load(&self) -> (String, Result<String, InputError>) {
        match &self.body {
            DocumentBody::File(path) => match read_capped(path) {
                Ok(bytes) => (content_hash(&bytes), validate_input(bytes, &self.source)),
                Err(source) => (
                    content_hash(b""),
                    Err(InputError::Unreadable {
                        name: self.source.clone(),
                        error: source,
                    }),
                ),
            },
            DocumentBody::Inline(text) => (
                content_hash(text.as_bytes()),
                validate_input(text.clone().into_bytes(), &self.source),
            ),
            DocumentBody::Invalid(message) => (
                content_hash(message.as_bytes()),
                Err(InputError::Other(message.clone())),
            ),
        }
    }
}

fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Lists the documents of `inputs` in order. `-` reads JSON lines from `stdin`.
pub fn discover(inputs: &[PathBuf], stdin: &mut dyn Read) -> Result<Vec<Document>, BatchError> {
    let mut documents = Vec::new();
    for input in inputs {
        if input == Path::new("-") {
            let mut text = String::new();
            stdin
                .read_to_string(&mut text)
                .map_err(|source| BatchError::Unreadable {
                    path: input.clone(),
                    error: source,
                })?;
            documents.extend(parse_jsonl(&text, "-"));
            continue;
        }
        let meta = std::fs::metadata(input).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => BatchError::InputNotFound {
                path: input.clone(),
            },
            _ => BatchError::Unreadable {
                path: input.clone(),
                error: source,
            },
        })?;
        if meta.is_dir() {
            let mut files = Vec::new();
            walk(input, &mut files)?;
            let mut found: Vec<(String, PathBuf)> = files
                .into_iter()
                .map(|path| (file_id(input, &path), path))
                .collect();
            found.sort();
            documents.extend(found.into_iter().map(|(id, path)| file_document(id, path)));
        } else if input.extension().is_some_and(|ext| ext == "jsonl") {
            let text = std::fs::read_to_string(input).map_err(|source| BatchError::Unreadable {
                path: input.clone(),
                error: source,
            })?;
            documents.extend(parse_jsonl(&text, &input.display().to_string()));
        } else {
            documents.push(file_document(file_id(input, input), input.clone()));
        }
    }
    Ok(documents)
}

/// Ids that more than one document carries, in order of their second appearance.
/// Records are keyed by id, so the caller should warn: results would be ambiguous.
pub fn duplicate_ids(documents: &[Document]) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    documents
        .iter()
        .filter(|doc| !seen.insert(doc.id.as_str()))
        .map(|doc| doc.id.as_str())
        .collect()
}

fn file_document(id: String, path: PathBuf) -> Document {
    Document {
        id,
        source: path.display().to_string(),
        body: DocumentBody::File(path),
        extra: Map::new(),
    }
}

/// The id of a file document (`saar compare` gives the same ids): the path as given for
/// a file given itself, else its path relative to the folder given.
pub(crate) fn file_id(given: &Path, file: &Path) -> String {
    if given == file {
        given.display().to_string()
    } else {
        relative_id(given, file)
    }
}

/// The id of a file found under `root`: its relative path with `/` separators, so ids
/// are the same on every OS and for every shard job.
fn relative_id(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Collects `*.txt` and `*.md` files below `dir`. Symlinked directories are not
/// followed, so a link cycle cannot loop.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), BatchError> {
    let unreadable = |source| BatchError::Unreadable {
        path: dir.to_path_buf(),
        error: source,
    };
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let path = entry.path();
        let kind = entry.file_type().map_err(unreadable)?;
        if kind.is_dir() {
            walk(&path, files)?;
        } else if is_article(&path) && std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            files.push(path);
        }
    }
    Ok(())
}

fn is_article(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext == "txt" || ext == "md")
}

/// One document per non-blank line. A line that is not a usable object becomes an
/// invalid document (reported in its own record) rather than stopping the run.
fn parse_jsonl(text: &str, name: &str) -> Vec<Document> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| jsonl_document(line, name, i + 1))
        .collect()
}

fn jsonl_document(line: &str, name: &str, number: usize) -> Document {
    let source = format!("{name}:{number}");
    let invalid = |reason: String| Document {
        id: source.clone(),
        source: source.clone(),
        body: DocumentBody::Invalid(
            BatchError::BadJsonl {
                name: name.to_string(),
                line: number,
                reason,
            }
            .to_string(),
        ),
        extra: Map::new(),
    };
    let mut object = match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return invalid("not an object".into()),
        Err(err) => return invalid(err.to_string()),
    };
    let id = match object.remove("id") {
        Some(Value::String(id)) => id,
        Some(Value::Number(n)) => n.to_string(),
        None => source.clone(),
        Some(_) => return invalid("\"id\" must be a string or a number".into()),
    };
    let text = match object.remove("text") {
        Some(Value::String(text)) => text,
        _ => return invalid("\"text\" is missing or not a string".into()),
    };
    Document {
        id,
        source,
        body: DocumentBody::Inline(text),
        extra: object,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_walked_in_sorted_order_with_relative_ids() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        for name in ["z.txt", "a.md", "b/c/d.txt", "b/skip.json", "b/e.txt"] {
            std::fs::write(root.join(name), "पाठ").unwrap();
        }
        let docs = discover(&[root.to_path_buf()], &mut std::io::empty()).unwrap();
        let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["a.md", "b/c/d.txt", "b/e.txt", "z.txt"]);
    }

    #[test]
    fn jsonl_keeps_extra_fields_and_reports_bad_lines_as_documents() {
        let input = "{\"id\":\"x\",\"text\":\"क\",\"url\":\"u\"}\n\nnot json\n{\"text\":\"ख\"}\n";
        let docs = discover(&[PathBuf::from("-")], &mut input.as_bytes()).unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].id, "x");
        assert_eq!(docs[0].extra["url"], "u");
        assert!(docs[0].load().1.is_ok());
        assert_eq!(docs[1].id, "-:3");
        assert!(docs[1].load().1.unwrap_err().to_string().contains("line 3"));
        assert_eq!(docs[2].id, "-:4");
    }

    #[test]
    fn repeated_ids_are_reported() {
        let input = "{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"b\",\"text\":\"x\"}\n{\"id\":\"a\",\"text\":\"y\"}\n";
        let docs = discover(&[PathBuf::from("-")], &mut input.as_bytes()).unwrap();
        assert_eq!(duplicate_ids(&docs), ["a"]);
    }

    #[test]
    fn missing_input_is_an_error_naming_it() {
        let err = discover(&[PathBuf::from("no/such/dir")], &mut std::io::empty()).unwrap_err();
        assert!(err.to_string().contains("no/such/dir"), "{err}");
    }
}
