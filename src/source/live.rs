//! Live capture from an interface through libpcap.
//!
//! The handle is opened as tcpdump opens it (`pcap_create`, the options, then
//! `pcap_activate`), with the filter compiled by libpcap and set in the kernel.
//! It is then read in non-blocking mode: the wait happens here, in one `poll`
//! on the capture descriptor and the stop signal's wake-up socket, with a
//! bounded timeout. That gives the consumer three things tcpdump's blocking
//! `pcap_loop` cannot: an [`Event::Idle`] before every wait (flush output),
//! an [`Event::Idle`] every `idle_tick` while the wire is quiet (fire
//! timeouts), and an immediate, orderly [`Event::End`] on SIGINT or SIGTERM.
//!
//! On a stop request every packet that arrived before it is still delivered:
//! without immediate mode the kernel holds packets in a ring block until the
//! block timeout retires it, so the capture keeps reading for up to that
//! timeout, and ends at the first packet stamped after the request.

use std::os::fd::AsFd;
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use pcap::{Active, Capture};

use super::filter::pcap_message;
use super::stop::StopSignal;
use super::{
    devices, CaptureStats, Event, Frame, FrameSource, Linktype, Precision, SourceError, Timestamp,
};

/// tcpdump's default snapshot length (libpcap's maximum for ordinary links).
pub const DEFAULT_SNAPLEN: u32 = 262_144;
/// tcpdump's read timeout, which is also the kernel's ring-block timeout.
const BLOCK_TIMEOUT_MS: i32 = 1000;
/// How long past the block timeout a stopping capture waits for the last block.
const DRAIN_MARGIN: Duration = Duration::from_millis(100);
/// The wake-up interval while no packet arrives, unless the caller sets one.
pub const DEFAULT_IDLE_TICK: Duration = Duration::from_millis(100);

/// Which packets to capture by direction (tcpdump's `-Q`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
    InOut,
}

impl FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Direction, String> {
        match s {
            "in" => Ok(Direction::In),
            "out" => Ok(Direction::Out),
            "inout" => Ok(Direction::InOut),
            _ => Err(format!("unknown direction '{s}': use in, out or inout")),
        }
    }
}

impl From<Direction> for pcap::Direction {
    fn from(d: Direction) -> pcap::Direction {
        match d {
            Direction::In => pcap::Direction::In,
            Direction::Out => pcap::Direction::Out,
            Direction::InOut => pcap::Direction::InOut,
        }
    }
}

/// How to open an interface: tcpdump's capture flags.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// The interface name, or its number in the `-D` listing.
    pub interface: String,
    /// Bytes to keep of each packet; 0 means [`DEFAULT_SNAPLEN`].
    pub snaplen: u32,
    /// Kernel buffer size in KiB (`-B`); `None` keeps libpcap's default.
    pub buffer_kib: Option<u32>,
    /// Deliver each packet at once instead of a ring block at a time.
    pub immediate: bool,
    pub promiscuous: bool,
    pub direction: Option<Direction>,
    /// A filter expression to compile and set in the kernel.
    pub filter: Option<String>,
    /// How often to report [`Event::Idle`] while no packet arrives.
    pub idle_tick: Duration,
}

impl LiveOptions {
    pub fn new(interface: &str) -> LiveOptions {
        LiveOptions {
            interface: interface.to_string(),
            snaplen: 0,
            buffer_kib: None,
            immediate: false,
            promiscuous: true,
            direction: None,
            filter: None,
            idle_tick: DEFAULT_IDLE_TICK,
        }
    }
}

/// The packet last read, copied out of libpcap's buffer so that it can be
/// lent out as a [`Frame`] independently of the next read.
#[derive(Default)]
struct Held {
    ts: Timestamp,
    len: u32,
    data: Vec<u8>,
}

/// Where the capture is after a request to stop.
struct Stopping {
    /// Packets stamped after this arrived after the request.
    at: Timestamp,
    /// Give up waiting for packets still held by the kernel.
    deadline: Instant,
}

enum Step {
    Packet,
    Idle,
    End,
}

enum Wait {
    Readable,
    Signalled,
    TimedOut,
}

/// An open live capture.
pub struct LiveCapture {
    capture: Capture<Active>,
    origin: String,
    linktype: Linktype,
    snaplen: u32,
    precision: Precision,
    stop: StopSignal,
    idle_tick: Duration,
    /// How long a stopping capture may wait for packets the kernel still holds.
    drain: Duration,
    /// A read may find a packet (the last read found one, or the descriptor
    /// polled readable).
    maybe_ready: bool,
    stopping: Option<Stopping>,
    ended: bool,
    frames: u64,
    held: Held,
}

/// The wall clock, on the same clock as the kernel's packet time stamps.
pub fn wall_clock() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::new(d.as_secs() as i64, d.subsec_nanos() as i64)
}

/// A failed activation, said the way a user can act on.
fn open_error(name: &str, e: pcap::Error) -> SourceError {
    let text = pcap_message(e);
    let lower = text.to_lowercase();
    if lower.contains("cap_net_raw") || lower.contains("permission") || lower.contains("permitted")
    {
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "synack".to_string());
        return SourceError::new(
            name,
            None,
            format!(
                "permission denied ({text}): capturing needs the CAP_NET_RAW capability; \
                 run as root, or grant it with `setcap cap_net_raw=eip {exe}`"
            ),
        );
    }
    if !devices::exists(name) {
        return SourceError::new(name, None, "no such interface (synack -D lists them)");
    }
    let message = if text.is_empty() {
        "cannot capture on this interface (is it up?)".to_string()
    } else {
        text
    };
    SourceError::new(name, None, message)
}

impl LiveCapture {
    /// Open, configure and activate the interface, set the filter in the
    /// kernel, and install the stop signal handlers.
    pub fn open(opts: &LiveOptions) -> Result<LiveCapture, SourceError> {
        super::libpcap::load().map_err(|e| SourceError::new(&opts.interface, None, e))?;
        let name = devices::resolve(&opts.interface)?;
        let fail = |msg: String| SourceError::new(&name, None, msg);
        let snaplen = match opts.snaplen {
            0 => DEFAULT_SNAPLEN,
            n => n,
        };
        let mut inactive = Capture::from_device(name.as_str())
            .map_err(|e| fail(pcap_message(e)))?
            .snaplen(snaplen as i32)
            .promisc(opts.promiscuous)
            .immediate_mode(opts.immediate)
            .timeout(BLOCK_TIMEOUT_MS);
        if let Some(kib) = opts.buffer_kib {
            let bytes = i32::try_from(u64::from(kib) * 1024)
                .map_err(|_| fail(format!("buffer size {kib} KiB is too large")))?;
            inactive = inactive.buffer_size(bytes);
        }
        // Linux libpcap always offers nanosecond stamps for live captures (the
        // kernel stamps in nanoseconds); printing truncates them to the
        // microseconds libpcap would have given, so lines stay tcpdump's.
        let precision = if cfg!(target_os = "linux") {
            inactive = inactive.precision(pcap::Precision::Nano);
            Precision::Nano
        } else {
            Precision::Micro
        };
        let mut capture = inactive.open().map_err(|e| open_error(&name, e))?;
        if name == "any" {
            // tcpdump's choice for the "any" device: cooked v2, which names
            // the interface of each packet. An older libpcap keeps v1.
            let _ = capture.set_datalink(pcap::Linktype(Linktype::LINUX_SLL2.dlt()));
        }
        if let Some(direction) = opts.direction {
            capture
                .direction(direction.into())
                .map_err(|e| fail(format!("cannot set direction: {}", pcap_message(e))))?;
        }
        if let Some(expression) = &opts.filter {
            capture
                .filter(expression, true)
                .map_err(|e| SourceError::new("filter", None, pcap_message(e)))?;
        }
        let linktype = Linktype::from_dlt(capture.get_datalink().0);
        let capture = capture.setnonblock().map_err(|e| fail(pcap_message(e)))?;
        let stop = StopSignal::register()
            .map_err(|e| fail(format!("cannot install signal handlers: {e}")))?;
        let drain = if opts.immediate {
            Duration::ZERO
        } else {
            Duration::from_millis(BLOCK_TIMEOUT_MS as u64) + DRAIN_MARGIN
        };
        Ok(LiveCapture {
            capture,
            origin: name,
            linktype,
            snaplen,
            precision,
            stop,
            idle_tick: opts.idle_tick,
            drain,
            maybe_ready: true,
            stopping: None,
            ended: false,
            frames: 0,
            held: Held::default(),
        })
    }

    /// Packets handed out so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Read one packet into `held`, if one is ready.
    // `timeval`'s fields are 64-bit here but 32-bit on other targets.
    #[allow(clippy::unnecessary_cast)]
    fn read_packet(&mut self) -> Result<bool, SourceError> {
        match self.capture.next_packet() {
            Ok(packet) => {
                let h = packet.header;
                let frac = h.ts.tv_usec as i64;
                let nsec = match self.precision {
                    Precision::Nano => frac,
                    Precision::Micro => frac * 1000,
                };
                self.held.ts = Timestamp::new(h.ts.tv_sec as i64, nsec);
                self.held.len = h.len;
                self.held.data.clear();
                self.held.data.extend_from_slice(packet.data);
                Ok(true)
            }
            Err(pcap::Error::TimeoutExpired) => Ok(false),
            Err(e) => Err(SourceError::new(&self.origin, None, pcap_message(e))),
        }
    }

    /// Wait up to `timeout` for the capture descriptor or a signal.
    fn wait(&mut self, timeout: Duration) -> Result<Wait, SourceError> {
        // poll counts whole milliseconds: round up so a short wait still waits.
        let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        let (capture_ready, signalled) = {
            let mut fds = [
                PollFd::new(self.capture.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.stop.wake_fd(), PollFlags::POLLIN),
            ];
            match poll(
                &mut fds,
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
            ) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => return Ok(Wait::Signalled),
                Err(e) => {
                    return Err(SourceError::new(
                        &self.origin,
                        None,
                        format!("poll failed: {e}"),
                    ))
                }
            }
            let any = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
            (any(&fds[0]), any(&fds[1]))
        };
        if signalled {
            self.stop.drain();
            return Ok(Wait::Signalled);
        }
        // Error and hang-up conditions count as readable too: libpcap's read
        // is what turns them into a message.
        Ok(if capture_ready {
            Wait::Readable
        } else {
            Wait::TimedOut
        })
    }

    fn advance(&mut self) -> Result<Step, SourceError> {
        loop {
            if self.ended {
                return Ok(Step::End);
            }
            if self.stopping.is_none() && self.stop.requested() {
                self.stopping = Some(Stopping {
                    at: wall_clock(),
                    deadline: Instant::now() + self.drain,
                });
                self.maybe_ready = true;
            }
            if self.maybe_ready {
                if self.read_packet()? {
                    if self.stopping.as_ref().is_some_and(|s| self.held.ts > s.at) {
                        self.ended = true;
                        return Ok(Step::End);
                    }
                    self.frames += 1;
                    return Ok(Step::Packet);
                }
                self.maybe_ready = false;
                if self.stopping.is_none() {
                    // Nothing ready: let the consumer flush before we block.
                    return Ok(Step::Idle);
                }
            }
            let timeout = match &self.stopping {
                Some(s) => {
                    let left = s.deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        self.ended = true;
                        return Ok(Step::End);
                    }
                    left
                }
                None => self.idle_tick,
            };
            match self.wait(timeout)? {
                Wait::Readable => self.maybe_ready = true,
                Wait::Signalled => {}
                Wait::TimedOut if self.stopping.is_none() => return Ok(Step::Idle),
                Wait::TimedOut => {}
            }
        }
    }

    fn held_frame(&self) -> Frame<'_> {
        Frame {
            number: self.frames,
            ts: self.held.ts,
            len: self.held.len,
            linktype: self.linktype,
            data: &self.held.data,
            offset: 0,
        }
    }
}

impl FrameSource for LiveCapture {
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, SourceError> {
        loop {
            match self.advance()? {
                Step::Packet => return Ok(Some(self.held_frame())),
                Step::Idle => continue,
                Step::End => return Ok(None),
            }
        }
    }

    fn next_event(&mut self) -> Result<Event<'_>, SourceError> {
        Ok(match self.advance()? {
            Step::Packet => Event::Frame(self.held_frame()),
            Step::Idle => Event::Idle { now: wall_clock() },
            Step::End => Event::End,
        })
    }

    fn linktype(&self) -> Linktype {
        self.linktype
    }

    fn snaplen(&self) -> u32 {
        self.snaplen
    }

    fn precision(&self) -> Precision {
        self.precision
    }

    fn origin(&self) -> &str {
        &self.origin
    }

    fn is_live(&self) -> bool {
        true
    }

    fn capture_stats(&mut self) -> Option<Result<CaptureStats, SourceError>> {
        Some(
            self.capture
                .stats()
                .map(|s| CaptureStats {
                    received: s.received,
                    dropped: s.dropped,
                    interface_dropped: s.if_dropped,
                })
                .map_err(|e| SourceError::new(&self.origin, None, pcap_message(e))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_parse_as_tcpdump_spells_them() {
        assert_eq!("in".parse::<Direction>(), Ok(Direction::In));
        assert_eq!("out".parse::<Direction>(), Ok(Direction::Out));
        assert_eq!("inout".parse::<Direction>(), Ok(Direction::InOut));
        assert!("both".parse::<Direction>().is_err());
    }
}
