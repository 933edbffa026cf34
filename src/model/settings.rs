//! Where the HF cache lives, which endpoint and token to use, and whether to stay
//! offline: read from the same environment variables as Python's huggingface_hub,
//! through an injected lookup so tests never touch the process environment.
//!
//! saar's own `SAAR_HTTP_*` variables (timeouts and retries) are read here too.

use std::path::{Path, PathBuf};

use super::NetPolicy;

/// The hub as the Python tools would see it from the same environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubSettings {
    /// The hub cache holding `models--org--name/{blobs,snapshots,refs}`.
    pub cache_dir: PathBuf,
    /// Base URL of the hub, without a trailing slash.
    pub endpoint: String,
    /// Sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Never touch the network; only the cache is read.
    pub offline: bool,
    /// Timeouts and retries of every request to the hub.
    pub net: NetPolicy,
}

pub(crate) const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

impl HubSettings {
    /// Settings from the process environment (the CLI's entry point).
    pub fn from_env() -> Self {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Settings from any variable lookup; empty values count as unset.
    ///
    /// - cache: `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, where
    ///   `HF_HOME` defaults to `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`;
    /// - token: `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the file at `HF_TOKEN_PATH`,
    ///   else `$HF_HOME/token` (what `huggingface-cli login` writes);
    /// - endpoint: `HF_ENDPOINT`, else `https://huggingface.co`;
    /// - offline: `HF_HUB_OFFLINE` set to 1/true/yes/on;
    /// - timeouts and retries: `SAAR_HTTP_TIMEOUT`, `SAAR_HTTP_RETRIES`, `SAAR_HTTP_BACKOFF`
    ///   ([`NetPolicy::from_lookup`]).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let var = |key: &str| lookup(key).filter(|value| !value.trim().is_empty());
        let hf_home = var("HF_HOME").map(PathBuf::from).unwrap_or_else(|| {
            let cache_root = var("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| {
                let home = var("HOME")
                    .or_else(|| var("USERPROFILE"))
                    .unwrap_or_default();
                Path::new(&home).join(".cache")
            });
            cache_root.join("huggingface")
        });
        let cache_dir = var("HF_HUB_CACHE")
            .or_else(|| var("HUGGINGFACE_HUB_CACHE"))
            .map(PathBuf::from)
            .unwrap_or_else(|| hf_home.join("hub"));
        let token = var("HF_TOKEN")
            .or_else(|| var("HUGGING_FACE_HUB_TOKEN"))
            .map(|token| token.trim().to_string())
            .or_else(|| {
                let path = var("HF_TOKEN_PATH")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| hf_home.join("token"));
                read_token_file(&path)
            });
        let endpoint = var("HF_ENDPOINT")
            .map(|url| url.trim().trim_end_matches('/').to_string())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let offline = var("HF_HUB_OFFLINE").is_some_and(|value| is_true(&value));
        HubSettings {
            cache_dir,
            endpoint,
            token,
            offline,
            net: NetPolicy::from_lookup(var),
        }
    }

    /// The same settings with the network switched off.
    pub fn offline(&self) -> Self {
        HubSettings {
            offline: true,
            ..self.clone()
        }
    }

    /// The page where a gated repo's licence is accepted.
    pub fn repo_url(&self, repo: &str) -> String {
        format!("{}/{repo}", self.endpoint)
    }
}

/// An unreadable or empty token file means "no token", as in huggingface_hub.
fn read_token_file(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let token = text.trim();
    (!token.is_empty()).then(|| token.to_string())
}

fn is_true(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_uppercase().as_str(),
        "1" | "ON" | "YES" | "TRUE"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> HubSettings {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        HubSettings::from_lookup(|key| map.get(key).cloned())
    }

    #[test]
    fn defaults_follow_home() {
        let s = settings(&[("HOME", "/home/asha")]);
        assert_eq!(
            s.cache_dir,
            PathBuf::from("/home/asha/.cache/huggingface/hub")
        );
        assert_eq!(s.endpoint, "https://huggingface.co");
        assert_eq!(s.token, None);
        assert!(!s.offline);
    }

    #[test]
    fn cache_precedence_hub_cache_then_hf_home_then_xdg() {
        let all = [
            ("HOME", "/h"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HF_HOME", "/hf"),
            ("HF_HUB_CACHE", "/hubcache"),
        ];
        assert_eq!(settings(&all).cache_dir, PathBuf::from("/hubcache"));
        assert_eq!(settings(&all[..3]).cache_dir, PathBuf::from("/hf/hub"));
        assert_eq!(
            settings(&all[..2]).cache_dir,
            PathBuf::from("/xdg/huggingface/hub")
        );
        let legacy = settings(&[("HF_HOME", "/hf"), ("HUGGINGFACE_HUB_CACHE", "/old")]);
        assert_eq!(legacy.cache_dir, PathBuf::from("/old"));
        let empty = settings(&[("HF_HOME", "/hf"), ("HF_HUB_CACHE", "")]);
        assert_eq!(empty.cache_dir, PathBuf::from("/hf/hub"));
    }

    #[test]
    fn token_from_env_beats_token_file() {
        let home = tempfile::tempdir().expect("tempdir");
        std::fs::write(home.path().join("token"), "hf_from_file\n").expect("write token");
        let hf_home = home.path().to_str().expect("utf-8 path");
        let from_file = settings(&[("HF_HOME", hf_home)]);
        assert_eq!(from_file.token.as_deref(), Some("hf_from_file"));
        let from_env = settings(&[("HF_HOME", hf_home), ("HF_TOKEN", "hf_from_env")]);
        assert_eq!(from_env.token.as_deref(), Some("hf_from_env"));
        // The token file sits under HF_HOME even when HF_HUB_CACHE moves the cache.
        let moved = settings(&[("HF_HOME", hf_home), ("HF_HUB_CACHE", "/elsewhere")]);
        assert_eq!(moved.token.as_deref(), Some("hf_from_file"));
    }

    #[test]
    fn token_path_override_and_empty_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("my-token");
        std::fs::write(&path, "  \n").expect("write token");
        let path_str = path.to_str().expect("utf-8 path");
        assert_eq!(settings(&[("HF_TOKEN_PATH", path_str)]).token, None);
        std::fs::write(&path, "hf_custom").expect("write token");
        let s = settings(&[("HF_TOKEN_PATH", path_str), ("HF_HOME", "/nonexistent")]);
        assert_eq!(s.token.as_deref(), Some("hf_custom"));
    }

    #[test]
    fn endpoint_loses_trailing_slash() {
        let s = settings(&[("HF_ENDPOINT", "http://127.0.0.1:9/ ")]);
        assert_eq!(s.endpoint, "http://127.0.0.1:9");
        assert_eq!(s.repo_url("org/name"), "http://127.0.0.1:9/org/name");
    }

    #[test]
    fn offline_accepts_python_truthy_values() {
        for value in ["1", "true", "TRUE", "yes", "on"] {
            assert!(settings(&[("HF_HUB_OFFLINE", value)]).offline, "{value}");
        }
        for value in ["0", "false", "no", ""] {
            assert!(!settings(&[("HF_HUB_OFFLINE", value)]).offline, "{value}");
        }
        assert!(settings(&[]).offline().offline);
    }
}
