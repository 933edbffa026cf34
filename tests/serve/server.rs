//! A `saar serve` process for tests: started on a port the system picks, known to be
//! ready when its stderr says so, and driven with a real HTTP client (ureq).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long any wait may take before the test fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(120);

#[derive(Default)]
pub struct ServerOptions {
    /// Hold each request at the worker until [`Server::open_gate`].
    pub gate: bool,
    /// Hold an LLM batch's first step until [`Server::open_batch_gate`].
    pub batch_gate: bool,
    pub api_key: Option<&'static str>,
    pub extra: Vec<&'static str>,
}

/// The server's stderr lines so far, and a signal for each new one.
type Lines = Arc<(Mutex<Vec<String>>, Condvar)>;

pub struct Server {
    child: Child,
    base: String,
    lines: Lines,
    gate: Option<PathBuf>,
    batch_gate: Option<PathBuf>,
    key: Option<&'static str>,
    agent: ureq::Agent,
}

impl Server {
    pub fn start(cache: &Path, models: &[&str], options: ServerOptions) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_saar"));
        command.args(["serve", "--port", "0"]);
        for model in models {
            command.args(["-m", model]);
        }
        command.args(&options.extra);
        let fifo = |wanted: bool, name: &str, variable: &str, command: &mut Command| {
            wanted.then(|| {
                let fifo = cache.join(name);
                let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
                assert!(made.success());
                command.env(variable, &fifo);
                fifo
            })
        };
        let gate = fifo(
            options.gate,
            "gate.fifo",
            "SAAR_SERVE_TEST_GATE",
            &mut command,
        );
        let batch_gate = fifo(
            options.batch_gate,
            "batch-gate.fifo",
            "SAAR_SERVE_TEST_BATCH_GATE",
            &mut command,
        );
        match options.api_key {
            Some(key) => command.env("SAAR_API_KEY", key),
            None => command.env_remove("SAAR_API_KEY"),
        };
        let mut child = command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("HF_HUB_CACHE", cache)
            .env("HF_HOME", cache)
            .env("HF_ENDPOINT", "http://127.0.0.1:9")
            .env_remove("SAAR_MODEL")
            .env_remove("SAAR_PORT")
            .env_remove("SAAR_HOST")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start saar serve");
        let lines: Lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = lines.clone();
        std::thread::spawn(move || {
            let (store, signal) = &*sink;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                store.lock().unwrap().push(line);
                signal.notify_all();
            }
            store.lock().unwrap().push(CLOSED.to_string());
            signal.notify_all();
        });
        let listening = wait_for_line(&lines, |l| l.contains("listening on http://"));
        let base = listening
            .split("listening on ")
            .nth(1)
            .expect("address")
            .trim()
            .to_string();
        for model in models {
            wait_for_line(&lines, |l| l == format!("saar: model {model} is loaded"));
        }
        Self {
            child,
            base,
            lines,
            gate,
            batch_gate,
            key: options.api_key,
            agent: ureq::AgentBuilder::new().timeout_read(PATIENCE).build(),
        }
    }

    fn request(&self, method: &str, path: &str, key: Option<&str>) -> ureq::Request {
        let request = self.agent.request(method, &format!("{}{path}", self.base));
        match key {
            Some(key) => request.set("Authorization", &format!("Bearer {key}")),
            None => request,
        }
    }

    /// POSTs JSON and returns the response, which must be 200.
    pub fn post(&self, path: &str, body: &Value) -> ureq::Response {
        match self
            .request("POST", path, self.key)
            .set("Content-Type", "application/json")
            .send_string(&body.to_string())
        {
            Ok(response) => response,
            Err(ureq::Error::Status(code, response)) => panic!(
                "POST {path}: {code} {}",
                response.into_string().unwrap_or_default()
            ),
            Err(err) => panic!("POST {path}: {err}"),
        }
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Value {
        serde_json::from_str(&self.post(path, body).into_string().unwrap()).unwrap()
    }

    /// POSTs `body` as it is, with `key` if any; any status: (status, headers, JSON).
    pub fn post_raw(
        &self,
        path: &str,
        body: &str,
        key: Option<&str>,
    ) -> (u16, HashMap<String, String>, Value) {
        let response = match self
            .request("POST", path, key)
            .set("Content-Type", "application/json")
            .send_string(body)
        {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(err) => panic!("POST {path}: {err}"),
        };
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|name| Some((name.clone(), response.header(&name)?.to_string())))
            .collect();
        let status = response.status();
        let text = response.into_string().unwrap();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    pub fn get_status(&self, path: &str, key: Option<&str>) -> u16 {
        match self.request("GET", path, key).call() {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response.status(),
            Err(err) => panic!("GET {path}: {err}"),
        }
    }

    pub fn get_json(&self, path: &str) -> Value {
        let text = self
            .request("GET", path, self.key)
            .call()
            .expect("GET")
            .into_string()
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The value of the first /metrics line that starts with `prefix` (0 if none).
    pub fn metric(&self, prefix: &str) -> f64 {
        let text = self
            .request("GET", "/metrics", self.key)
            .call()
            .expect("GET /metrics")
            .into_string()
            .unwrap();
        text.lines()
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0)
    }

    /// Polls /metrics until the line starting with `prefix` ends in ` value`.
    pub fn wait_for_metric(&self, prefix: &str, value: &str) {
        let deadline = Instant::now() + PATIENCE;
        let wanted: f64 = value.parse().unwrap();
        while self.metric(prefix) != wanted {
            assert!(Instant::now() < deadline, "{prefix} never reached {value}");
            std::thread::yield_now();
        }
    }

    /// Lets the worker start one held request.
    pub fn open_gate(&self) {
        write_line(self.gate.as_ref().expect("started with a gate"));
    }

    /// Lets a held batch take its first step (or the next batch, when none is held).
    pub fn open_batch_gate(&self) {
        write_line(self.batch_gate.as_ref().expect("started with a batch gate"));
    }

    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    pub fn wait(&mut self) -> ExitStatus {
        self.child.wait().expect("wait for saar serve")
    }

    pub fn stderr_so_far(&self) -> String {
        self.lines.0.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The line the reader adds when the server's stderr closes (the process ended).
const CLOSED: &str = "(stderr closed)";

/// Waits for a stderr line that `wanted` accepts and returns it.
fn write_line(fifo: &Path) {
    let mut writer = std::fs::OpenOptions::new()
        .write(true)
        .open(fifo)
        .expect("open the gate");
    writer.write_all(b"go\n").unwrap();
}

fn wait_for_line(lines: &Lines, wanted: impl Fn(&str) -> bool) -> String {
    let (store, signal) = &**lines;
    let deadline = Instant::now() + PATIENCE;
    let mut guard = store.lock().unwrap();
    loop {
        if let Some(line) = guard.iter().find(|l| wanted(l)) {
            return line.clone();
        }
        assert!(
            !guard.iter().any(|l| l == CLOSED),
            "saar serve ended first; stderr:\n{}",
            guard.join("\n")
        );
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "saar serve never said it; stderr:\n{}",
            guard.join("\n")
        );
        guard = signal.wait_timeout(guard, left).unwrap().0;
    }
}
