//! Time stamps as tcpdump prints them (`-t` … `-ttttt`), in local time where
//! tcpdump uses local time (so `TZ` is honoured through the C library).

use super::out::Out;
use crate::source::Timestamp;

/// Which time stamp to print: the number of `-t` flags given, as tcpdump counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TimeFormat {
    /// `HH:MM:SS.ffffff` in local time.
    #[default]
    Clock,
    /// `-t`: none.
    None,
    /// `-tt`: seconds since the epoch.
    Epoch,
    /// `-ttt`: delta since the previous packet.
    DeltaPrevious,
    /// `-tttt`: date and local time.
    DateClock,
    /// `-ttttt`: delta since the first packet.
    DeltaFirst,
}

impl TimeFormat {
    pub fn from_count(n: u8) -> TimeFormat {
        match n {
            0 => TimeFormat::Clock,
            1 => TimeFormat::None,
            2 => TimeFormat::Epoch,
            3 => TimeFormat::DeltaPrevious,
            4 => TimeFormat::DateClock,
            _ => TimeFormat::DeltaFirst,
        }
    }
}

/// Broken-down time for one minute, cached: consecutive packets nearly always
/// fall in the same minute, and time-zone offsets change only on minute
/// boundaries.
#[derive(Clone, Copy)]
struct MinuteCache {
    start: i64,
    local: bool,
    /// `YYYY-MM-DD HH:MM:` for the minute starting at `start`.
    text: [u8; 17],
}

/// Prints time stamps; keeps the reference times the delta formats need.
pub struct Clock {
    format: TimeFormat,
    reference: Option<(i64, i64)>,
    cache: Option<MinuteCache>,
    /// Set for tcpdump 3.x time stamps (`--classic`).
    classic: Option<ClassicClock>,
}

/// What tcpdump 3.7.2's `ts_print` keeps: the zone offset `gmt2local` fixed
/// at start-up, and the previous packet's time (`b_sec`, `b_usec`) for `-ttt`.
#[derive(Clone, Copy)]
struct ClassicClock {
    thiszone: i64,
    base_sec: u32,
    base_usec: u32,
}

/// `printf("%02d", n)`: the sign counts towards the width.
fn d02(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.c(b'-').u(n.unsigned_abs());
    } else {
        out.u0(n as u64, 2);
    }
}

/// tcpdump 3.7.2's `gmt2local(0)`: seconds east of UTC now, from the hour and
/// minute of local and UTC time (a whole number of minutes).
fn gmt2local_now() -> i64 {
    // SAFETY: time(NULL) only reads the clock.
    let now = unsafe { libc::time(std::ptr::null_mut()) } as i64;
    let (Some(loc), Some(gmt)) = (broken_down(now, true), broken_down(now, false)) else {
        return 0;
    };
    let mut dt = ((loc.tm_hour - gmt.tm_hour) * 60 + (loc.tm_min - gmt.tm_min)) as i64;
    let dir = if loc.tm_year != gmt.tm_year {
        (loc.tm_year - gmt.tm_year).signum()
    } else {
        (loc.tm_yday - gmt.tm_yday).signum()
    };
    dt += dir as i64 * 24 * 60;
    dt * 60
}

/// `(sec, usec)` as tcpdump's `timeval` after libpcap's conversion.
fn timeval(ts: Timestamp) -> (i64, i64) {
    (ts.sec, ts.usec())
}

fn broken_down(sec: i64, local: bool) -> Option<libc::tm> {
    let t: libc::time_t = sec as libc::time_t;
    // SAFETY: `tm` is plain data that localtime_r/gmtime_r fill in completely
    // when they succeed; both only read `t` and write `tm`.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        let r = if local {
            libc::localtime_r(&t, &mut tm)
        } else {
            libc::gmtime_r(&t, &mut tm)
        };
        (!r.is_null()).then_some(tm)
    }
}

/// Year, month, day, hour, minute and second of `sec` in UTC (for the dates
/// that reports name).
pub fn utc_parts(sec: i64) -> Option<[i64; 6]> {
    let tm = broken_down(sec, false)?;
    Some([
        i64::from(tm.tm_year) + 1900,
        i64::from(tm.tm_mon) + 1,
        i64::from(tm.tm_mday),
        i64::from(tm.tm_hour),
        i64::from(tm.tm_min),
        i64::from(tm.tm_sec),
    ])
}

/// Make the C library read `TZ` now, as tcpdump's first `localtime` call does.
pub fn init_timezone() {
    extern "C" {
        fn tzset();
    }
    // SAFETY: tzset only reads the environment and sets libc's zone globals; it is
    // called once at start-up before any other thread formats a time.
    unsafe { tzset() }
}

impl Clock {
    pub fn new(format: TimeFormat) -> Clock {
        Clock {
            format,
            reference: None,
            cache: None,
            classic: None,
        }
    }

    /// Time stamps as tcpdump 3.7.2 prints them: `-t` none, `-tt` epoch, `-ttt`
    /// delta (`000000` first, then `[S. ]UUUUUU`), `-tttt` date in UTC (3.7.2
    /// looks up the zone only for the default format), no `-ttttt`.
    pub fn classic(format: TimeFormat) -> Clock {
        let thiszone = if format == TimeFormat::Clock {
            gmt2local_now()
        } else {
            0
        };
        Clock {
            classic: Some(ClassicClock {
                thiszone,
                base_sec: 0,
                base_usec: 0,
            }),
            ..Clock::new(format)
        }
    }

    /// 3.7.2's `ts_print`: plain arithmetic on the seconds, no `localtime` per
    /// packet, no range checks.
    fn print_classic(&mut self, out: &mut Vec<u8>, sec: i64, usec: i64, c: &mut ClassicClock) {
        let hms = |out: &mut Vec<u8>, s: i64| {
            d02(out, s / 3600);
            out.c(b':');
            d02(out, (s % 3600) / 60);
            out.c(b':');
            d02(out, s % 60);
        };
        match self.format {
            TimeFormat::None | TimeFormat::DeltaFirst => {}
            TimeFormat::Clock => {
                hms(out, sec.wrapping_add(c.thiszone) % 86400);
                Self::frac(out, usec);
                out.c(b' ');
            }
            TimeFormat::Epoch => {
                out.u(sec as u32);
                Self::frac(out, usec);
                out.c(b' ');
            }
            TimeFormat::DeltaPrevious => {
                if c.base_sec == 0 {
                    out.s("000000 ");
                } else {
                    let mut d_usec = (usec - c.base_usec as i64) as i32;
                    let mut d_sec = sec.wrapping_sub(c.base_sec as i64) as i32;
                    if d_usec < 0 {
                        let borrow = (-(d_usec as i64) + 999_999) / 1_000_000;
                        d_usec = (d_usec as i64 + borrow * 1_000_000) as i32;
                        d_sec = d_sec.wrapping_sub(borrow as i32);
                    }
                    if d_sec != 0 {
                        out.u(d_sec).s(". ");
                    }
                    out.u0(d_usec as u64, 6).c(b' ');
                }
                c.base_sec = sec as u32;
                c.base_usec = usec as u32;
            }
            TimeFormat::DateClock => {
                let s = sec % 86400;
                if let Some(tm) = broken_down(sec - s, false) {
                    out.u0((tm.tm_mon + 1) as u64, 2)
                        .c(b'/')
                        .u0(tm.tm_mday as u64, 2)
                        .c(b'/')
                        .u0((tm.tm_year as i64 + 1900) as u64, 4)
                        .c(b' ');
                }
                hms(out, s);
                Self::frac(out, usec);
                out.c(b' ');
            }
        }
    }

    /// Append `HH:MM:SS` (or `YYYY-MM-DD HH:MM:SS`); false when the time cannot
    /// be converted.
    fn hms(&mut self, out: &mut Vec<u8>, sec: i64, date: bool, local: bool) -> bool {
        // The minute's start; none for the first minute of the 64-bit clock.
        let Some(start) = sec.checked_sub(sec.rem_euclid(60)) else {
            return false;
        };
        let cached = match self.cache {
            Some(c) if c.start == start && c.local == local => c,
            _ => {
                let Some(tm) = broken_down(start, local) else {
                    return false;
                };
                let mut text = [0u8; 17];
                let mut v = Vec::with_capacity(17);
                v.u0((tm.tm_year as i64 + 1900) as u64, 4)
                    .c(b'-')
                    .u0((tm.tm_mon + 1) as u64, 2)
                    .c(b'-')
                    .u0(tm.tm_mday as u64, 2)
                    .c(b' ')
                    .u0(tm.tm_hour as u64, 2)
                    .c(b':')
                    .u0(tm.tm_min as u64, 2)
                    .c(b':');
                if v.len() != 17 {
                    // Years beyond four digits: no cache, format directly.
                    if date {
                        out.extend_from_slice(&v);
                    } else {
                        out.extend_from_slice(&v[v.len() - 6..]);
                    }
                    out.u0((sec - start) as u64, 2);
                    return true;
                }
                text.copy_from_slice(&v);
                let c = MinuteCache { start, local, text };
                self.cache = Some(c);
                c
            }
        };
        if date {
            out.extend_from_slice(&cached.text);
        } else {
            out.extend_from_slice(&cached.text[11..]);
        }
        out.u0((sec - start) as u64, 2);
        true
    }

    fn frac(out: &mut Vec<u8>, usec: i64) {
        // `%06u` of the value as C's unsigned int sees it.
        out.c(b'.').u0(usec as u32 as u64, 6);
    }

    fn date_hms_frac(&mut self, out: &mut Vec<u8>, sec: i64, usec: i64, date: bool, local: bool) {
        if (sec as u32) & 0x8000_0000 != 0 || !self.hms(out, sec, date, local) {
            out.s("[Error converting time]");
            return;
        }
        Self::frac(out, usec);
    }

    /// Note a packet that is not printed: the delta formats still count from it
    /// (tcpdump 3.x printed every packet, so its `-ttt` does too).
    pub fn observe(&mut self, ts: Timestamp) {
        let now = timeval(ts);
        if let Some(c) = self.classic.as_mut() {
            if self.format == TimeFormat::DeltaPrevious {
                c.base_sec = now.0 as u32;
                c.base_usec = now.1 as u32;
            }
            return;
        }
        match self.format {
            TimeFormat::DeltaPrevious => self.reference = Some(now),
            TimeFormat::DeltaFirst => {
                self.reference.get_or_insert(now);
            }
            _ => {}
        }
    }

    /// Append the time stamp and its trailing space (nothing for `-t`).
    pub fn print(&mut self, out: &mut Vec<u8>, ts: Timestamp) {
        let (sec, usec) = timeval(ts);
        if let Some(mut c) = self.classic {
            self.print_classic(out, sec, usec, &mut c);
            self.classic = Some(c);
            return;
        }
        match self.format {
            TimeFormat::None => {}
            TimeFormat::Clock => {
                self.date_hms_frac(out, sec, usec, false, true);
                out.c(b' ');
            }
            TimeFormat::DateClock => {
                self.date_hms_frac(out, sec, usec, true, true);
                out.c(b' ');
            }
            TimeFormat::Epoch => {
                if (sec as u32) & 0x8000_0000 != 0 {
                    out.s("[Error converting time]");
                } else {
                    out.u(sec as u32);
                    Self::frac(out, usec);
                }
                out.c(b' ');
            }
            TimeFormat::DeltaPrevious | TimeFormat::DeltaFirst => {
                let now = (sec, usec);
                let reference = *self.reference.get_or_insert(now);
                let negative = now < reference;
                let (a, b) = if negative {
                    (reference, now)
                } else {
                    (now, reference)
                };
                // As C's `long` arithmetic does: times at the ends of the
                // 64-bit clock wrap rather than fail.
                let mut ds = a.0.wrapping_sub(b.0);
                let mut du = a.1.wrapping_sub(b.1);
                if du < 0 {
                    ds = ds.wrapping_sub(1);
                    du += 1_000_000;
                }
                out.c(if negative { b'-' } else { b' ' });
                self.date_hms_frac(out, ds, du, false, false);
                out.c(b' ');
                if self.format == TimeFormat::DeltaPrevious {
                    self.reference = Some(now);
                }
            }
        }
    }
}
