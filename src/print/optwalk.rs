//! The TCP option walk of tcpdump's `tcp_print`, the same in 3.x and 4.x:
//! the kind and length of each option, its data as the kind's printer reads
//! it, `[len N]` when the length byte disagrees with what that printer
//! consumed, and the early ends (`bad`: a length that does not fit the
//! header; `trunc`: the capture ends). Each format brings its own printer for
//! the kinds.

use super::out::Out;
use super::{Pkt, Trunc};
use crate::wire::tcp::{OPT_EOL, OPT_NOP};

/// How an options walk ended early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OptEnd {
    /// `[bad opt]`: a length that does not fit.
    Bad,
    /// The local truncation path (`goto trunc`).
    Trunc,
    /// A read past the capture outside the length checks (tcpdump 4.x's
    /// longjmp).
    Jump,
}

impl From<Trunc> for OptEnd {
    fn from(_: Trunc) -> OptEnd {
        OptEnd::Jump
    }
}

/// One option, as a kind printer sees it.
pub(super) struct Opt {
    pub kind: u8,
    /// The length byte (1 for eol and nop, which have none).
    pub len: u32,
    /// Where the option's data starts.
    pub at: usize,
    /// Header bytes left from `at`.
    pub left: u32,
}

impl Opt {
    /// tcpdump's `LENCHECK(l)`: `l` data bytes must be left in the header,
    /// then captured.
    pub fn check(&self, k: &Pkt<'_>, l: u32) -> Result<(), OptEnd> {
        if l > self.left {
            return Err(OptEnd::Bad);
        }
        if !k.s.ttest(self.at, l as usize) {
            return Err(OptEnd::Trunc);
        }
        Ok(())
    }
}

/// Walk `hlen` option bytes from `cp`, with `,` between options. A kind or
/// length byte past the capture ends the walk with `unread` (4.x longjmps,
/// 3.x checked these reads). `printed` is set once an option has been
/// printed. `kind` prints one option and returns how many data bytes it
/// consumed: the walk goes on from there, not from the length byte (a wrong
/// length makes it read on inside the option).
pub(super) fn walk(
    k: &mut Pkt<'_>,
    mut cp: usize,
    mut hlen: u32,
    unread: OptEnd,
    printed: &mut bool,
    mut kind: impl FnMut(&mut Pkt<'_>, &Opt) -> Result<u32, OptEnd>,
) -> Result<(), OptEnd> {
    while hlen > 0 {
        if *printed {
            k.out.c(b',');
        }
        let opt = k.s.u8(cp).map_err(|_| unread)?;
        cp += 1;
        let zero_length = opt == OPT_EOL || opt == OPT_NOP;
        let len = if zero_length {
            1
        } else {
            let len = k.s.u8(cp).map_err(|_| unread)? as u32;
            cp += 1;
            if len < 2 || len > hlen {
                return Err(OptEnd::Bad);
            }
            hlen -= 1;
            len
        };
        hlen -= 1;
        let o = Opt {
            kind: opt,
            len,
            at: cp,
            left: hlen,
        };
        let datalen = kind(k, &o)?;
        cp += datalen as usize;
        hlen -= datalen;
        let spec = datalen + if zero_length { 1 } else { 2 };
        if spec != len {
            k.out.s("[len ").u(len).c(b']');
        }
        *printed = true;
        if opt == OPT_EOL {
            break;
        }
    }
    Ok(())
}
