//! What makes two runs of one document the same work: the resume key, and the hashes
//! it is built from. A record is skipped on resume only when its document, model and
//! settings (prompts included) are all unchanged.

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The fields of a record that say which work it holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordKey {
    pub id: String,
    pub content_hash: String,
    /// The model's name and revision, `name@revision`.
    pub model: String,
    pub settings_hash: String,
}

impl RecordKey {
    pub fn new(
        id: &str,
        content_hash: &str,
        model: &str,
        revision: &str,
        settings_hash: &str,
    ) -> Self {
        Self {
            id: id.to_string(),
            content_hash: content_hash.to_string(),
            model: format!("{model}@{revision}"),
            settings_hash: settings_hash.to_string(),
        }
    }

    /// Reads the key of one output line, and whether its document succeeded. Only the
    /// key fields are decoded, so indexing a large output stays cheap.
    pub fn parse_line(line: &[u8]) -> Result<(Self, bool), serde_json::Error> {
        Ok(serde_json::from_slice::<StoredKey>(line)?.into_key())
    }

    /// The key of a record already parsed, and whether it succeeded; `None` when it is
    /// not a batch record.
    pub fn of_record(record: &Value) -> Option<(Self, bool)> {
        Some(StoredKey::deserialize(record).ok()?.into_key())
    }
}

impl StoredKey {
    fn into_key(self) -> (RecordKey, bool) {
        let stored = self;
        let key = RecordKey::new(
            &stored.id,
            &stored.content_hash,
            &stored.model,
            stored.revision.as_deref().unwrap_or(""),
            &stored.settings_hash,
        );
        (key, stored.status.as_deref() == Some("ok"))
    }
}

/// The fields of a record that make up its key; the rest of the line is skipped.
#[derive(serde::Deserialize)]
struct StoredKey {
    id: String,
    content_hash: String,
    model: String,
    revision: Option<String>,
    settings_hash: String,
    status: Option<String>,
}

/// SHA-256 (hex) of a document's raw bytes.
pub fn content_hash(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 (hex) of the settings as JSON; the caller includes the prompt hash in them,
/// so a changed template redoes the work.
pub fn settings_hash(settings: &Value) -> String {
    hex(&Sha256::digest(settings.to_string().as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_round_trips_through_a_record_and_changes_with_settings() {
        let settings = json!({"task": "summarize", "max_new_tokens": 4});
        let key = RecordKey::new(
            "a",
            &content_hash(b"x"),
            "m",
            "r1",
            &settings_hash(&settings),
        );
        let record = json!({
            "id": "a", "content_hash": key.content_hash, "model": "m", "revision": "r1",
            "settings_hash": key.settings_hash, "status": "ok",
        });
        let line = record.to_string();
        let (parsed, ok) = RecordKey::parse_line(line.as_bytes()).unwrap();
        assert_eq!(parsed, key);
        assert!(ok);
        let other = settings_hash(&json!({"task": "summarize", "max_new_tokens": 5}));
        assert_ne!(other, key.settings_hash);
        let err = RecordKey::parse_line(br#"{"id": "a"}"#).unwrap_err();
        assert!(err.to_string().contains("content_hash"), "{err}");
    }
}
