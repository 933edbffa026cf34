//! The output file of a batch run: JSON lines, one record per document, each written
//! whole with one write, then flushed and fsynced before the next document starts, so
//! a crash loses at most the document in flight. On open it makes the output's folder
//! if need be, takes an exclusive lock on `<out>.lock`, cuts away a torn last line, and
//! indexes the records already there.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;
use serde_json::Value;

use super::abort_hook::{abort_now, AbortHook};
use super::{BatchError, RecordKey};

/// An output file opened for appending, held under its lock until dropped.
#[derive(Debug)]
pub struct BatchOutput {
    file: File,
    path: PathBuf,
    // Held for the lock; released when the output is dropped or the process dies.
    _lock: File,
    /// Crash tests' named stopping points (`abort_hook.rs`); `None` outside them.
    abort: Option<AbortHook>,
}

/// What an earlier run left in the output.
#[derive(Debug, Default)]
pub struct Resumed {
    /// Records already written, and whether each one succeeded.
    pub done: HashMap<RecordKey, bool>,
    /// Bytes of a torn last line that were cut away (0 when the file was whole).
    pub truncated_bytes: u64,
}

impl BatchOutput {
    /// Locks and opens `path`. With `force` the file is emptied; otherwise its records
    /// are indexed for resuming.
    pub fn open(path: &Path, force: bool) -> Result<(Self, Resumed), BatchError> {
        // `--out results/today.jsonl` into a folder not made yet: make it.
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|error| BatchError::Write {
                path: folder.to_path_buf(),
                error,
            })?;
        }
        let lock = lock(path)?;
        let mut abort = AbortHook::from_env();
        if abort.as_mut().is_some_and(|hook| hook.arrives("locked")) {
            abort_now();
        }
        let write_error = |source| BatchError::Write {
            path: path.to_path_buf(),
            error: source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(write_error)?;
        let mut resumed = Resumed::default();
        if force {
            file.set_len(0).map_err(write_error)?;
        } else {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).map_err(write_error)?;
            let whole = index_records(&bytes, path, &mut resumed.done)?;
            if whole < bytes.len() {
                file.set_len(whole as u64).map_err(write_error)?;
                file.sync_data().map_err(write_error)?;
                resumed.truncated_bytes = (bytes.len() - whole) as u64;
            }
        }
        file.seek(SeekFrom::End(0)).map_err(write_error)?;
        let output = Self {
            file,
            path: path.to_path_buf(),
            _lock: lock,
            abort,
        };
        Ok((output, resumed))
    }

    /// Appends one record as one line: a single write, then fsync, so that it is on
    /// disk before the next document begins.
    pub fn append(&mut self, record: &Value) -> Result<(), BatchError> {
        let mut line = record.to_string().into_bytes();
        line.push(b'\n');
        let torn = self.abort.as_mut().is_some_and(|hook| hook.arrives("torn"));
        if torn {
            line.truncate(line.len() / 2);
        }
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .and_then(|()| self.file.sync_data())
            .map_err(|source| BatchError::Write {
                path: self.path.clone(),
                error: source,
            })?;
        if torn
            || self
                .abort
                .as_mut()
                .is_some_and(|hook| hook.arrives("record"))
        {
            abort_now();
        }
        Ok(())
    }
}

/// Every whole record of a batch output, in file order (later lines for the same
/// key win when a caller indexes them). A torn last line is left out.
pub fn read_records(path: &Path) -> Result<Vec<Value>, BatchError> {
    let bytes = std::fs::read(path).map_err(|source| BatchError::Unreadable {
        path: path.to_path_buf(),
        error: source,
    })?;
    // Only newline-terminated lines are whole; a torn last line is left out.
    let whole = bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&bytes[..0], |end| &bytes[..end]);
    let mut records = Vec::new();
    for (i, line) in whole.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let record = serde_json::from_slice(line).map_err(|err| BatchError::CorruptOutput {
            path: path.to_path_buf(),
            line: i + 1,
            reason: err.to_string(),
        })?;
        records.push(record);
    }
    Ok(records)
}

/// The lock file beside the output, `<out>.lock`, locked exclusively without waiting.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn lock(path: &Path) -> Result<File, BatchError> {
    let lock_path = lock_path(path);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|source| BatchError::Write {
            path: lock_path.clone(),
            error: source,
        })?;
    match FileExt::try_lock_exclusive(&file) {
        Ok(true) => Ok(file),
        Ok(false) => Err(BatchError::Locked { path: lock_path }),
        Err(source) => Err(BatchError::Write {
            path: lock_path,
            error: source,
        }),
    }
}

/// Indexes the whole records in `bytes` and returns how many bytes they span. The last
/// line may be torn by a crash (cut short: no newline, or JSON that ends too soon): it
/// is left out. Anything else that is not a record means the file is not a batch
/// output, which is an error rather than something to cut away.
fn index_records(
    bytes: &[u8],
    path: &Path,
    done: &mut HashMap<RecordKey, bool>,
) -> Result<usize, BatchError> {
    let mut start = 0;
    let mut line_number = 0;
    while start < bytes.len() {
        line_number += 1;
        let (end, next) = match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(newline) => (start + newline, start + newline + 1),
            None => (bytes.len(), bytes.len()),
        };
        let terminated = next > end;
        let is_last = next == bytes.len();
        match RecordKey::parse_line(&bytes[start..end]) {
            Ok((key, ok)) if terminated => {
                done.insert(key, ok);
            }
            // A whole record whose newline never reached the disk: redo that document.
            Ok(_) => break,
            Err(err) if is_last && (err.is_eof() || err.is_syntax()) => break,
            Err(err) => {
                return Err(BatchError::CorruptOutput {
                    path: path.to_path_buf(),
                    line: line_number,
                    reason: err.to_string(),
                })
            }
        }
        start = next;
    }
    Ok(start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(id: &str) -> Value {
        json!({"id": id, "content_hash": "c", "model": "m", "revision": "r",
               "settings_hash": "s", "status": "ok"})
    }

    #[test]
    fn torn_last_line_is_cut_away_and_records_are_indexed() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("out.jsonl");
        {
            let (mut out, resumed) = BatchOutput::open(&path, false).unwrap();
            assert!(resumed.done.is_empty());
            out.append(&record("a")).unwrap();
            out.append(&record("b")).unwrap();
        }
        let whole = std::fs::read(&path).unwrap();
        let unterminated = record("c").to_string().into_bytes();
        for torn in [&b"{\"id\":\"c\",\"cont"[..], b"{\"id\"\n", &unterminated] {
            std::fs::write(&path, [&whole[..], torn].concat()).unwrap();
            let (mut out, resumed) = BatchOutput::open(&path, false).unwrap();
            assert_eq!(resumed.done.len(), 2);
            assert_eq!(resumed.truncated_bytes, torn.len() as u64);
            out.append(&record("c")).unwrap();
            drop(out);
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(text.lines().count(), 3);
            assert!(text
                .lines()
                .all(|l| serde_json::from_str::<Value>(l).is_ok()));
            std::fs::write(&path, &whole).unwrap();
        }
    }

    #[test]
    fn a_bad_line_in_the_middle_is_an_error_and_force_starts_over() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("out.jsonl");
        std::fs::write(&path, format!("garbage\n{}\n", record("a"))).unwrap();
        let err = BatchOutput::open(&path, false).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        // Some other JSON-lines file given as --out by mistake is refused, never cut.
        for foreign in [
            "{\"id\":\"a\",\"text\":\"x\"}\n",
            "{\"id\":\"a\",\"text\":\"x\"}",
        ] {
            std::fs::write(&path, foreign).unwrap();
            assert!(matches!(
                BatchOutput::open(&path, false),
                Err(BatchError::CorruptOutput { .. })
            ));
            assert_eq!(std::fs::read_to_string(&path).unwrap(), foreign);
        }
        let (_, resumed) = BatchOutput::open(&path, true).unwrap();
        assert!(resumed.done.is_empty());
        assert_eq!(std::fs::read(&path).unwrap().len(), 0);
    }

    #[test]
    fn a_second_open_while_the_first_holds_the_lock_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("out.jsonl");
        let first = BatchOutput::open(&path, false).unwrap();
        let err = BatchOutput::open(&path, false).unwrap_err();
        assert!(matches!(err, BatchError::Locked { .. }));
        assert!(err.to_string().contains("out.jsonl.lock"), "{err}");
        drop(first);
        assert!(BatchOutput::open(&path, false).is_ok());
    }
}
