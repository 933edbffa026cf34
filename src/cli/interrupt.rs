//! Ctrl-C in `saar batch`: every finished document is already on disk (each record
//! is fsynced before the next document starts), so an interrupt only has to say how
//! far the run got and how to go on, and exit 130 as shells expect after SIGINT. The
//! document in flight gets no record and is redone by the next run.
//!
//! Test-only: `SAAR_TEST_PAUSE_AT=begin:<n>` makes the run announce on stderr that it
//! waits before its n-th document and then wait for standard input to close, so a
//! test can interrupt it at that moment without racing it.

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Exit status after SIGINT (128 + 2), as shells report a Ctrl-C.
const INTERRUPTED: i32 = 130;

const PAUSE_VARIABLE: &str = "SAAR_TEST_PAUSE_AT";

/// On the first Ctrl-C, says how many documents `written` counts and exits 130. The
/// handler is in place when this returns.
pub fn exit_on_ctrl_c(written: Arc<AtomicUsize>) -> anyhow::Result<()> {
    let (ready, is_ready) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("saar-ctrl-c".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let Ok(runtime) = runtime else {
                return;
            };
            runtime.block_on(async {
                let Ok(mut interrupt) = listen() else {
                    return;
                };
                let _ = ready.send(());
                if interrupt.recv().await.is_some() {
                    let n = written.load(Ordering::SeqCst);
                    let documents = if n == 1 { "document" } else { "documents" };
                    eprintln!(
                        "\nsaar: interrupted after {n} {documents}; run the same command to resume"
                    );
                    std::process::exit(INTERRUPTED);
                }
            });
        })?;
    // Without a handler (no signal support) Ctrl-C simply ends the process, which
    // loses nothing either; so a failed start is not an error.
    let _ = is_ready.recv();
    Ok(())
}

#[cfg(unix)]
fn listen() -> std::io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
}

#[cfg(not(unix))]
fn listen() -> std::io::Result<CtrlC> {
    Ok(CtrlC)
}

#[cfg(not(unix))]
struct CtrlC;

#[cfg(not(unix))]
impl CtrlC {
    async fn recv(&mut self) -> Option<()> {
        tokio::signal::ctrl_c().await.ok()
    }
}

/// The test pause (see the module comment): which document to wait before.
pub fn pause_before() -> Option<usize> {
    let value = std::env::var(PAUSE_VARIABLE).ok()?;
    value.strip_prefix("begin:")?.parse().ok()
}

/// Announces the pause and waits until standard input closes.
pub fn pause(document: usize) {
    eprintln!("saar: test pause before document {document}");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}
