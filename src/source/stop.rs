//! Stopping a live capture cleanly on SIGINT or SIGTERM.
//!
//! The signal handler only sets a flag and writes a byte to a socket pair (both
//! async-signal-safe, done by `signal-hook`); the capture loop polls the socket
//! next to the capture descriptor, so a signal wakes it at once instead of at the
//! next packet. A second signal while stopping ends the process at once, for the
//! case where the orderly stop itself hangs (a blocked output, say).

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};

/// The exit status after a second interrupt: 128 + SIGINT, as shells report it.
const SECOND_SIGNAL_STATUS: i32 = 130;

/// A request to stop, raised by SIGINT or SIGTERM.
pub struct StopSignal {
    requested: Arc<AtomicBool>,
    wake: UnixStream,
}

impl StopSignal {
    /// Install the handlers. They stay installed for the life of the process, so
    /// that a second Ctrl-C during the final flush still ends it.
    pub fn register() -> io::Result<StopSignal> {
        let requested = Arc::new(AtomicBool::new(false));
        let (wake, wake_writer) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        for signal in [SIGINT, SIGTERM] {
            // The shutdown goes first: it fires only when the flag is already set.
            signal_hook::flag::register_conditional_shutdown(
                signal,
                SECOND_SIGNAL_STATUS,
                Arc::clone(&requested),
            )?;
            signal_hook::flag::register(signal, Arc::clone(&requested))?;
            signal_hook::low_level::pipe::register(signal, wake_writer.try_clone()?)?;
        }
        Ok(StopSignal { requested, wake })
    }

    /// Has a stop been requested?
    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// The descriptor that becomes readable when a signal arrives.
    pub fn wake_fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Empty the wake-up socket after it was seen readable.
    pub fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.wake).read(&mut buf), Ok(n) if n > 0) {}
    }
}
