//! HTTP to the hub with limits: connect and read timeouts, a few more tries with a
//! growing pause after a timeout, a dropped connection or a 5xx answer, and a failure
//! that names the host once the tries run out.
//!
//! hf-hub 0.4.3's sync API builds its ureq agent without timeouts (a hub that accepts
//! the connection and never answers hangs it for good) and retries only file bodies,
//! after fixed pauses; so saar makes its requests here, on the same ureq.

use std::time::Duration;

use ureq::{Agent, AgentBuilder, RedirectAuthHeaders, Response};

/// How long to wait for the hub and how often to try again, from `SAAR_HTTP_TIMEOUT`,
/// `SAAR_HTTP_RETRIES` and `SAAR_HTTP_BACKOFF`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetPolicy {
    /// The connect timeout, and the longest silence while waiting for bytes.
    pub timeout: Duration,
    /// Tries after the first; a try that brought new bytes of a file does not count.
    pub retries: u32,
    /// The pause before the first retry; each later pause is twice the one before.
    pub backoff: Duration,
    /// A variable that did not parse, reported when the network is first used.
    invalid: Option<String>,
}

/// Patient enough for a slow link, short enough that a silent hub is noticed within a
/// minute (4 tries of 10 s, pauses of 1, 2 and 4 s); Python's huggingface_hub also
/// waits 10 s by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_RETRIES: u32 = 3;
const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);
/// No pause between tries grows beyond this.
const MAX_PAUSE: Duration = Duration::from_secs(60);

impl Default for NetPolicy {
    fn default() -> Self {
        Self::new(DEFAULT_TIMEOUT, DEFAULT_RETRIES, DEFAULT_BACKOFF)
    }
}

impl NetPolicy {
    pub fn new(timeout: Duration, retries: u32, backoff: Duration) -> Self {
        Self {
            timeout,
            retries,
            backoff,
            invalid: None,
        }
    }

    /// The policy from a variable lookup (empty values count as unset):
    /// `SAAR_HTTP_TIMEOUT` and `SAAR_HTTP_BACKOFF` in seconds (fractions allowed),
    /// `SAAR_HTTP_RETRIES` a count.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Self {
        let mut policy = Self::default();
        let mut invalid = Vec::new();
        if let Some(value) = var("SAAR_HTTP_TIMEOUT") {
            match seconds(&value).filter(|secs| !secs.is_zero()) {
                Some(secs) => policy.timeout = secs,
                None => invalid.push(format!("SAAR_HTTP_TIMEOUT={value} (seconds above 0)")),
            }
        }
        if let Some(value) = var("SAAR_HTTP_BACKOFF") {
            match seconds(&value) {
                Some(secs) => policy.backoff = secs,
                None => invalid.push(format!("SAAR_HTTP_BACKOFF={value} (seconds, 0 or more)")),
            }
        }
        if let Some(value) = var("SAAR_HTTP_RETRIES") {
            match value.trim().parse::<u32>() {
                Ok(count) if count <= 100 => policy.retries = count,
                _ => invalid.push(format!("SAAR_HTTP_RETRIES={value} (a count from 0 to 100)")),
            }
        }
        if !invalid.is_empty() {
            policy.invalid = Some(format!("invalid {}: fix or unset it", invalid.join(", ")));
        }
        policy
    }

    /// The one-line complaint about a variable that did not parse, if any.
    pub(crate) fn invalid(&self) -> Option<&str> {
        self.invalid.as_deref()
    }

    /// The pause after `failures` failed tries in a row (1 or more).
    fn pause(&self, failures: u32) -> Duration {
        let doubling = 2u32.saturating_pow(failures.saturating_sub(1));
        self.backoff.saturating_mul(doubling).min(MAX_PAUSE)
    }
}

/// Seconds as a duration: a finite, non-negative number of at most a day.
fn seconds(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && (0.0..=86_400.0).contains(&secs)).then(|| Duration::from_secs_f64(secs))
}

/// Why one try failed, and whether another might succeed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A timeout, a dropped connection, an HTTP 5xx or 429: worth another try.
    /// `progressed` when the try brought bytes the earlier ones had not.
    Transient { detail: String, progressed: bool },
    /// The hub answered with this (4xx) status and `x-error-code`.
    Status {
        status: u16,
        code: String,
        url: String,
    },
    /// The host could not be reached at all (name lookup, connection refused).
    Unreachable(String),
    /// The tries ran out; `last` says how the last one failed.
    GaveUp {
        host: String,
        tries: u32,
        last: String,
    },
    /// The hub answered something unusable.
    BadResponse(String),
    /// A local file could not be read or written.
    Local(super::ModelError),
}

impl Failure {
    pub fn transient(detail: impl Into<String>) -> Self {
        Failure::Transient {
            detail: detail.into(),
            progressed: false,
        }
    }

    /// A broken read of a response body: a timeout or a connection that went away.
    pub fn body(error: &std::io::Error, timeout: Duration, progressed: bool) -> Self {
        let detail = match error.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                format!("no data for {}", secs_text(timeout))
            }
            std::io::ErrorKind::UnexpectedEof => "the connection closed mid-file".to_string(),
            _ => format!("the connection broke ({error})"),
        };
        Failure::Transient { detail, progressed }
    }
}

/// "10 s", "0.25 s".
pub(crate) fn secs_text(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

/// `host[:port]` of a URL, for messages.
pub(crate) fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or(rest).to_string()
}

/// The two ureq agents a hub session needs, and the policy they were built with.
pub(crate) struct Http {
    /// Follows redirects (file bodies may live on a CDN).
    agent: Agent,
    /// Follows none: the hub's own answer carries the file's etag and commit.
    probe_agent: Agent,
    /// Sent as `Authorization: Bearer …` to the hub's own host.
    token: Option<String>,
    endpoint: String,
    policy: NetPolicy,
}

impl Http {
    pub fn new(endpoint: &str, token: Option<String>, policy: &NetPolicy) -> Self {
        let build = |redirects: u32| -> Agent {
            AgentBuilder::new()
                .try_proxy_from_env(true)
                .timeout_connect(policy.timeout)
                .timeout_read(policy.timeout)
                .timeout_write(policy.timeout)
                .redirects(redirects)
                .redirect_auth_headers(RedirectAuthHeaders::SameHost)
                .user_agent(&format!("saar/{}", env!("CARGO_PKG_VERSION")))
                .build()
        };
        Http {
            agent: build(5),
            probe_agent: build(0),
            token,
            endpoint: endpoint.to_string(),
            policy: policy.clone(),
        }
    }

    pub fn timeout(&self) -> Duration {
        self.policy.timeout
    }

    /// One GET that follows redirects; an error status is a [`Failure`].
    pub fn get(&self, url: &str, range: Option<&str>) -> Result<Response, Failure> {
        self.send(&self.agent, url, range)
    }

    /// One GET that follows no redirect, so a 3xx comes back as it is.
    pub fn probe(&self, url: &str, range: Option<&str>) -> Result<Response, Failure> {
        self.send(&self.probe_agent, url, range)
    }

    fn send(&self, agent: &Agent, url: &str, range: Option<&str>) -> Result<Response, Failure> {
        let mut request = agent.get(url);
        if let Some(token) = &self.token {
            // The token is for the hub, never for a CDN it points at.
            if host_of(url) == host_of(&self.endpoint) {
                request = request.set("Authorization", &format!("Bearer {token}"));
            }
        }
        if let Some(range) = range {
            request = request.set("Range", range);
        }
        request.call().map_err(|error| self.failure(error))
    }

    fn failure(&self, error: ureq::Error) -> Failure {
        match error {
            ureq::Error::Status(status, _) if status >= 500 || status == 429 => {
                Failure::transient(format!("HTTP {status}"))
            }
            ureq::Error::Status(status, response) => Failure::Status {
                status,
                code: response
                    .header("x-error-code")
                    .unwrap_or_default()
                    .to_string(),
                url: response.get_url().to_string(),
            },
            ureq::Error::Transport(transport) => {
                let timed_out = io_cause(&transport)
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
                match transport.kind() {
                    _ if timed_out => Failure::transient(format!(
                        "no answer within {}",
                        secs_text(self.policy.timeout)
                    )),
                    ureq::ErrorKind::Io => {
                        Failure::transient(format!("the connection broke ({transport})"))
                    }
                    _ => Failure::Unreachable(transport.to_string()),
                }
            }
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or fails transiently more
    /// than `retries` times in a row (a try that made progress starts the count
    /// again), pausing between tries.
    pub fn retrying<T>(
        &self,
        url: &str,
        mut attempt: impl FnMut() -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let (mut tries, mut in_a_row) = (0, 0);
        loop {
            tries += 1;
            match attempt() {
                Err(Failure::Transient { detail, progressed }) => {
                    in_a_row = if progressed { 0 } else { in_a_row + 1 };
                    if in_a_row > self.policy.retries {
                        return Err(Failure::GaveUp {
                            host: host_of(url),
                            tries,
                            last: detail,
                        });
                    }
                    std::thread::sleep(self.policy.pause(in_a_row.max(1)));
                }
                other => return other,
            }
        }
    }
}

/// The I/O error under a ureq transport error, if any.
fn io_cause(transport: &ureq::Transport) -> Option<&std::io::Error> {
    let mut cause = std::error::Error::source(transport);
    while let Some(error) = cause {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cause = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> NetPolicy {
        NetPolicy::from_lookup(|key| {
            vars.iter()
                .find(|(name, _)| *name == key)
                .map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn variables_set_the_policy_and_bad_values_are_named() {
        assert_eq!(lookup(&[]), NetPolicy::default());
        let quick = lookup(&[
            ("SAAR_HTTP_TIMEOUT", "0.25"),
            ("SAAR_HTTP_RETRIES", "0"),
            ("SAAR_HTTP_BACKOFF", "0"),
        ]);
        assert_eq!(
            quick,
            NetPolicy::new(Duration::from_millis(250), 0, Duration::ZERO)
        );
        let bad = lookup(&[("SAAR_HTTP_TIMEOUT", "0"), ("SAAR_HTTP_RETRIES", "many")]);
        let message = bad.invalid().expect("reported");
        assert!(message.contains("SAAR_HTTP_TIMEOUT=0"), "{message}");
        assert!(message.contains("SAAR_HTTP_RETRIES=many"), "{message}");
        assert!(!message.contains('\n'));
    }

    #[test]
    fn pauses_double_up_to_a_cap_and_hosts_are_short() {
        let policy = NetPolicy::new(DEFAULT_TIMEOUT, 9, Duration::from_secs(1));
        let pauses: Vec<u64> = (1..=8).map(|n| policy.pause(n).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(
            host_of("https://huggingface.co/api/models/x"),
            "huggingface.co"
        );
        assert_eq!(host_of("http://127.0.0.1:9/a?b"), "127.0.0.1:9");
    }
}
