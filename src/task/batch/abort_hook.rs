//! Test-only: `SAAR_TEST_ABORT_AT=<point>:<n>` ends the process the n-th time the
//! batch writer reaches `<point>`, at once and without cleaning up (as a crash or a
//! SIGKILL would), so crash tests stop a run at named, replayable moments instead of
//! at random times. Points: `locked` (the output is locked, nothing read yet),
//! `record` (the n-th record of this run is on disk), `torn` (the n-th record is half
//! written). Not for users: unset, it costs one environment lookup per output.

/// The exit status of a run the hook ended, so a test can tell it from a failure.
pub const TEST_ABORT_EXIT_CODE: i32 = 86;

const VARIABLE: &str = "SAAR_TEST_ABORT_AT";

/// Where to stop, and how often the point has been reached so far.
#[derive(Debug)]
pub(crate) struct AbortHook {
    point: String,
    at: usize,
    reached: usize,
}

impl AbortHook {
    /// The hook `SAAR_TEST_ABORT_AT` asks for; none when unset or malformed.
    pub fn from_env() -> Option<Self> {
        Self::parse(&std::env::var(VARIABLE).ok()?)
    }

    fn parse(value: &str) -> Option<Self> {
        let (point, at) = value.rsplit_once(':')?;
        Some(Self {
            point: point.to_string(),
            at: at.parse().ok().filter(|&at| at > 0)?,
            reached: 0,
        })
    }

    /// Counts one arrival at `point`; true when this is the arrival to stop at.
    pub fn arrives(&mut self, point: &str) -> bool {
        if point != self.point {
            return false;
        }
        self.reached += 1;
        self.reached == self.at
    }
}

/// Ends the process as a crash would for the output: no destructor runs, so nothing
/// more is written, and the lock goes only because the OS drops it.
pub(crate) fn abort_now() -> ! {
    std::process::exit(TEST_ABORT_EXIT_CODE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_the_nth_arrival_of_its_point_only() {
        let mut hook = AbortHook::parse("record:2").expect("valid");
        assert!(!hook.arrives("torn"));
        assert!(!hook.arrives("record"));
        assert!(hook.arrives("record"));
        assert!(!hook.arrives("record"));
        for bad in ["record", "record:0", "record:x", ""] {
            assert!(AbortHook::parse(bad).is_none(), "{bad}");
        }
    }
}
