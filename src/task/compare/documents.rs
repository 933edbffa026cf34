//! Reading what a comparison runs over: the articles (files, or the `*.txt` files of a
//! folder) and their optional references (JSONL `{"id", "text"}` matched by id, or plain
//! text with one reference per article in order).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::score::{read_segments, ScoreError, SegmentFormat};
use crate::task::batch::file_id;
use crate::text::{self, InputError, PrepareOptions};

/// An article to run every model over, and the reference output when there is one.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Document {
    /// The file name without its extension; JSONL references are matched on it.
    pub id: String,
    /// The prepared (normalized, cleaned) article text the models are given.
    pub source: String,
    pub reference: Option<String>,
}

/// Inputs a comparison cannot use.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Score(#[from] ScoreError),
    #[error(transparent)]
    Batch(#[from] crate::task::batch::BatchError),
    #[error(transparent)]
    Run(#[from] crate::Error),
    #[error("model `{model}` failed on article `{id}`: {error}")]
    DocumentFailed {
        model: String,
        id: String,
        error: String,
    },
    #[error("the run of `{model}` has no output for article `{id}`; rerun with --force")]
    MissingOutput { model: String, id: String },
    // The io::Error is in the message, so it is not also a `source` (said once).
    #[error("cannot list {path}: {error}; give article files or a readable folder")]
    ListDir { path: String, error: std::io::Error },
    #[error("no articles: {0} holds no .txt files; give article files or a folder of *.txt")]
    NoDocuments(String),
    #[error("two articles have the id `{0}`: give files with different names")]
    DuplicateId(String),
    #[error("{path} has {refs} references for {docs} articles: give one per article, in order, or JSONL with ids")]
    ReferenceCount {
        path: String,
        refs: usize,
        docs: usize,
    },
    #[error(
        "{path} has no reference with id `{id}`: add a line {{\"id\": \"{id}\", \"text\": …}}"
    )]
    MissingReference { path: String, id: String },
    #[error(
        "{path} line {line}: no string field `id`: JSONL references need {{\"id\", \"text\"}}"
    )]
    MissingId { path: String, line: usize },
}

/// Expands `inputs` (files, or folders whose `*.txt` files are taken in name order)
/// and reads and prepares every article.
pub fn read_documents(inputs: &[PathBuf]) -> Result<Vec<Document>, CompareError> {
    // (the input given, a file it names or holds)
    let mut files: Vec<(&Path, PathBuf)> = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found = list_txt(input)?;
            if found.is_empty() {
                return Err(CompareError::NoDocuments(input.display().to_string()));
            }
            found.sort();
            files.extend(found.into_iter().map(|file| (input.as_path(), file)));
        } else {
            files.push((input, input.clone()));
        }
    }
    if files.is_empty() {
        return Err(CompareError::NoDocuments("the command line".into()));
    }
    let mut documents: Vec<Document> = Vec::with_capacity(files.len());
    for (given, file) in files {
        // The id `saar batch` gives the same file, so records and references carry over.
        let id = file_id(given, &file);
        if documents.iter().any(|d| d.id == id) {
            return Err(CompareError::DuplicateId(id));
        }
        let raw = text::read_input(&file)?;
        let prepared = text::prepare(&raw, PrepareOptions::default());
        documents.push(Document {
            id,
            source: prepared.text,
            reference: None,
        });
    }
    Ok(documents)
}

fn list_txt(dir: &Path) -> Result<Vec<PathBuf>, CompareError> {
    let list_error = |error| CompareError::ListDir {
        path: dir.display().to_string(),
        error,
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(list_error)? {
        let path = entry.map_err(list_error)?.path();
        let is_txt = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("txt"));
        if is_txt && path.is_file() {
            found.push(path);
        }
    }
    Ok(found)
}

/// Attaches references from `path` to `documents`: JSONL (`.jsonl`/`.ndjson`) by `id`,
/// plain text by position. Every document must get one.
pub fn attach_references(documents: &mut [Document], path: &Path) -> Result<(), CompareError> {
    let shown = path.display().to_string();
    let texts = read_segments(path, SegmentFormat::Auto, &["text", "ref"])?;
    let is_jsonl = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson"));
    if !is_jsonl {
        if texts.len() != documents.len() {
            return Err(CompareError::ReferenceCount {
                path: shown,
                refs: texts.len(),
                docs: documents.len(),
            });
        }
        for (document, reference) in documents.iter_mut().zip(texts) {
            document.reference = Some(reference);
        }
        return Ok(());
    }
    let ids = read_segments(path, SegmentFormat::Jsonl, &["id"]).map_err(|err| match err {
        ScoreError::MissingField { path, line, .. } => CompareError::MissingId { path, line },
        other => other.into(),
    })?;
    let by_id: HashMap<String, String> = ids.into_iter().zip(texts).collect();
    for document in documents.iter_mut() {
        // `nagpur-metro` also names `nagpur-metro.txt` (ids were file stems before).
        let stem = document.id.strip_suffix(".txt");
        match by_id
            .get(&document.id)
            .or_else(|| stem.and_then(|stem| by_id.get(stem)))
        {
            Some(reference) => document.reference = Some(reference.clone()),
            None => {
                return Err(CompareError::MissingReference {
                    path: shown,
                    id: document.id.clone(),
                })
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.txt"), "दूसरी खबर।\n").unwrap();
        std::fs::write(dir.path().join("a.txt"), "पहली खबर।\n").unwrap();
        std::fs::write(dir.path().join("skip.md"), "नहीं").unwrap();
        dir
    }

    #[test]
    fn a_folder_gives_its_txt_files_in_name_order() {
        let dir = folder();
        let docs = read_documents(&[dir.path().to_path_buf()]).unwrap();
        let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["a.txt", "b.txt"]);
        assert_eq!(docs[0].source.trim(), "पहली खबर।");
    }

    #[test]
    fn the_same_file_twice_is_refused() {
        let dir = folder();
        let a = dir.path().join("a.txt");
        let err = read_documents(&[a.clone(), a.clone()]).unwrap_err();
        let shown = a.display().to_string();
        assert!(matches!(err, CompareError::DuplicateId(id) if id == shown));
    }

    #[test]
    fn ids_are_the_ones_batch_gives_the_same_files() {
        let dir = folder();
        let inputs = [dir.path().to_path_buf(), dir.path().join("b.txt")];
        let compared: Vec<String> = read_documents(&inputs)
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        let batched: Vec<String> = crate::task::batch::discover(&inputs, &mut std::io::empty())
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .filter(|id| id.ends_with(".txt"))
            .collect();
        assert_eq!(compared, batched);
        assert_eq!(compared[..2], ["a.txt", "b.txt"]);
    }

    #[test]
    fn jsonl_references_match_by_id_and_plain_text_by_position() {
        let dir = folder();
        let mut docs = read_documents(&[dir.path().to_path_buf()]).unwrap();
        let jsonl = dir.path().join("refs.jsonl");
        std::fs::write(
            &jsonl,
            "{\"id\": \"b.txt\", \"text\": \"Second.\"}\n{\"id\": \"a\", \"text\": \"First.\"}\n",
        )
        .unwrap();
        attach_references(&mut docs, &jsonl).unwrap();
        assert_eq!(docs[0].reference.as_deref(), Some("First."));
        assert_eq!(docs[1].reference.as_deref(), Some("Second."));

        let plain = dir.path().join("refs.txt");
        std::fs::write(&plain, "One.\nTwo.\n").unwrap();
        attach_references(&mut docs, &plain).unwrap();
        assert_eq!(docs[1].reference.as_deref(), Some("Two."));
    }

    #[test]
    fn a_missing_id_or_reference_is_named() {
        let dir = folder();
        let mut docs = read_documents(&[dir.path().to_path_buf()]).unwrap();
        let refs = dir.path().join("refs.jsonl");
        std::fs::write(&refs, "{\"id\": \"a\", \"text\": \"First.\"}\n").unwrap();
        let err = attach_references(&mut docs, &refs).unwrap_err();
        assert!(matches!(&err, CompareError::MissingReference { id, .. } if id == "b.txt"));
        std::fs::write(&refs, "{\"text\": \"First.\"}\n").unwrap();
        let err = attach_references(&mut docs, &refs).unwrap_err();
        assert!(
            matches!(err, CompareError::MissingId { line: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn an_unlistable_folder_or_unreadable_references_say_the_cause_once() {
        let dir = folder();
        let gone = dir.path().join("gone");
        let listed = list_txt(&gone).unwrap_err();
        let mut docs = read_documents(&[dir.path().to_path_buf()]).unwrap();
        let unread = attach_references(&mut docs, &gone).unwrap_err();
        for err in [listed, unread] {
            let cause = std::fs::read(&gone).unwrap_err().to_string();
            let shown = format!("{:#}", anyhow::Error::new(err));
            assert_eq!(shown.matches(&cause).count(), 1, "{shown}");
        }
    }
}
