//! A bare TCP server on 127.0.0.1 for what tiny_http cannot do: accept connections
//! and never answer (a stalled hub), or serve a file as a CDN would and cut the
//! connection mid-body a planned number of times.
//!
//! Dropping the server releases it deterministically: the accept loop is told to
//! stop, woken by a connection of its own, joined, and only then are the held
//! connections closed.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// What the server does with each connection.
pub enum Behaviour {
    /// Accept, read nothing, answer nothing, hold the connection open.
    Silent,
    /// Serve `bytes` for any path, honouring `Range: bytes=a-`; the first `drops`
    /// body requests (not the `bytes=0-0` size probes) get half of what they asked
    /// for, then the connection closes.
    Cdn { bytes: Vec<u8>, drops: usize },
}

pub struct RawServer {
    pub endpoint: String,
    address: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    held: Arc<Mutex<Vec<TcpStream>>>,
    ranges: Arc<Mutex<Vec<String>>>,
}

impl RawServer {
    pub fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let address = listener.local_addr().expect("address");
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        let ranges = Arc::new(Mutex::new(Vec::new()));
        let (thread_stop, thread_held, thread_ranges) =
            (Arc::clone(&stop), Arc::clone(&held), Arc::clone(&ranges));
        let thread = std::thread::spawn(move || {
            let mut behaviour = behaviour;
            for stream in listener.incoming() {
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                match &mut behaviour {
                    Behaviour::Silent => thread_held.lock().expect("lock").push(stream),
                    Behaviour::Cdn { bytes, drops } => {
                        serve(stream, bytes, drops, &thread_ranges);
                    }
                }
            }
        });
        RawServer {
            endpoint: format!("http://{address}"),
            address,
            stop,
            thread: Some(thread),
            held,
            ranges,
        }
    }

    /// The `Range` headers of the requests served, in order.
    pub fn ranges(&self) -> Vec<String> {
        self.ranges.lock().expect("lock").clone()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the blocking accept, which then sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        for stream in self.held.lock().expect("lock").drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// Answers one request on `stream` and closes it.
fn serve(stream: TcpStream, bytes: &[u8], drops: &mut usize, ranges: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("range") {
                range = Some(value.trim().to_string());
            }
        }
    }
    let range = range.unwrap_or_else(|| "bytes=0-".to_string());
    ranges.lock().expect("lock").push(range.clone());
    let spec = range.trim_start_matches("bytes=");
    let (start, end) = spec.split_once('-').unwrap_or((spec, ""));
    let total = bytes.len();
    let start: usize = start.parse::<usize>().unwrap_or(0).min(total);
    let end: usize = end
        .parse::<usize>()
        .map_or(total - 1, |end| end.min(total - 1));
    let body = &bytes[start..=end];
    let probe = range == "bytes=0-0";
    let cut = !probe && *drops > 0;
    let head = format!(
        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{end}/{total}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = stream;
    let _ = stream.write_all(head.as_bytes());
    if cut {
        *drops -= 1;
        let _ = stream.write_all(&body[..body.len() / 2]);
    } else {
        let _ = stream.write_all(body);
    }
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}
