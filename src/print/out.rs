//! Small formatting helpers that append to a byte buffer.
//!
//! The printers write millions of lines; `format!` and `write!` cost a
//! formatter round-trip per field, so digits are produced directly. Short
//! pieces of variable length (numbers, addresses) are built in a fixed-size
//! chunk on the stack and appended with one copy of a size known at compile
//! time: a call to `memcpy` for a copy of 1 to 20 bytes costs more than the
//! copy itself, and was the largest single cost of printing a line.

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The two ASCII digits of each value below 100.
const DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Text of at most `N` bytes built on the stack, appended to an output in
/// one fixed-size copy.
pub struct ShortText<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> ShortText<N> {
    #[inline]
    pub fn new() -> Self {
        ShortText {
            buf: [0; N],
            len: 0,
        }
    }

    #[inline]
    pub fn push(&mut self, c: u8) {
        self.buf[self.len] = c;
        self.len += 1;
    }

    /// The decimal digits of a byte (`%u`).
    #[inline]
    pub fn push_u8(&mut self, b: u8) {
        if b >= 100 {
            self.push(b'0' + b / 100);
        }
        if b >= 10 {
            self.push(b'0' + b / 10 % 10);
        }
        self.push(b'0' + b % 10);
    }

    #[inline]
    pub fn append_to(&self, out: &mut Vec<u8>) {
        let at = out.len();
        out.extend_from_slice(&self.buf);
        out.truncate(at + self.len);
    }
}

impl<const N: usize> Default for ShortText<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The integers [`Out::u`] prints: their sign and magnitude.
pub trait Decimal: Copy {
    fn sign_and_magnitude(self) -> (bool, u64);
}

macro_rules! decimal_unsigned {
    ($($t:ty),*) => {$(
        impl Decimal for $t {
            #[inline]
            fn sign_and_magnitude(self) -> (bool, u64) {
                (false, self as u64)
            }
        }
    )*};
}
macro_rules! decimal_signed {
    ($($t:ty),*) => {$(
        impl Decimal for $t {
            #[inline]
            fn sign_and_magnitude(self) -> (bool, u64) {
                (self < 0, self.unsigned_abs() as u64)
            }
        }
    )*};
}
decimal_unsigned!(u8, u16, u32, u64, usize);
decimal_signed!(i8, i16, i32, i64, isize);

/// Powers of ten that fit a `u64`.
const POW10: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// The number of decimal digits of `n` (1 for 0), from its bit length:
/// log10(2) is close to 1233/4096, and one comparison corrects the guess.
#[inline]
fn decimal_len(n: u64) -> usize {
    let n = n | 1;
    let guess = (((64 - n.leading_zeros()) * 1233) >> 12) as usize;
    guess + (n >= POW10[guess]) as usize
}

/// `n` in decimal (`%u`), two digits per division as itoa does, but written
/// left-aligned into a fixed-size chunk so that the append is a fixed-size
/// copy (itoa hands its digits back right-aligned, and copying those costs
/// a call to `memcpy` per number).
#[inline]
fn decimal(out: &mut Vec<u8>, mut n: u64) {
    let digits = decimal_len(n);
    let mut text = [0u8; 20];
    let mut end = digits;
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        end -= 2;
        text[end..end + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        text[..2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        text[0] = b'0' + n as u8;
    }
    let at = out.len();
    out.extend_from_slice(&text);
    out.truncate(at + digits);
}

pub trait Out {
    fn s(&mut self, s: &str) -> &mut Self;
    fn u<N: Decimal>(&mut self, n: N) -> &mut Self;
    /// Lower-case hex without leading zeros (`%x`).
    fn x(&mut self, n: u64) -> &mut Self;
    /// Lower-case hex padded with zeros to `width` digits (`%0Nx`).
    fn x0(&mut self, n: u64, width: usize) -> &mut Self;
    /// Decimal padded with zeros to `width` digits (`%0Nu`).
    fn u0(&mut self, n: u64, width: usize) -> &mut Self;
    fn c(&mut self, c: u8) -> &mut Self;
    /// Each byte as two hex digits.
    fn hex_bytes(&mut self, b: &[u8]) -> &mut Self;
}

impl Out for Vec<u8> {
    #[inline]
    fn s(&mut self, s: &str) -> &mut Self {
        self.extend_from_slice(s.as_bytes());
        self
    }

    #[inline]
    fn u<N: Decimal>(&mut self, n: N) -> &mut Self {
        let (negative, magnitude) = n.sign_and_magnitude();
        if negative {
            self.push(b'-');
        }
        decimal(self, magnitude);
        self
    }

    fn x(&mut self, n: u64) -> &mut Self {
        let digits = if n == 0 {
            1
        } else {
            (64 - n.leading_zeros() as usize).div_ceil(4)
        };
        self.x0(n, digits)
    }

    fn x0(&mut self, n: u64, width: usize) -> &mut Self {
        let digits = if n == 0 {
            1
        } else {
            (64 - n.leading_zeros() as usize).div_ceil(4)
        };
        let w = width.max(digits);
        for i in (0..w).rev() {
            let nib = if i >= 16 { 0 } else { (n >> (i * 4)) & 0xf };
            self.push(HEX[nib as usize]);
        }
        self
    }

    fn u0(&mut self, n: u64, width: usize) -> &mut Self {
        for _ in decimal_len(n)..width {
            self.push(b'0');
        }
        decimal(self, n);
        self
    }

    #[inline]
    fn c(&mut self, c: u8) -> &mut Self {
        self.push(c);
        self
    }

    fn hex_bytes(&mut self, b: &[u8]) -> &mut Self {
        for &v in b {
            self.push(HEX[(v >> 4) as usize]);
            self.push(HEX[(v & 0xf) as usize]);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_padding_match_printf() {
        let mut v = Vec::new();
        v.x(0)
            .c(b' ')
            .x(0x1ab)
            .c(b' ')
            .x0(0xa, 4)
            .c(b' ')
            .u0(7, 6)
            .c(b' ')
            .x(u64::MAX);
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "0 1ab 000a 000007 ffffffffffffffff"
        );
    }

    #[test]
    fn decimals_match_printf() {
        let mut v = Vec::new();
        for n in [0u64, 7, 9, 10, 99, 100, 12345, u32::MAX as u64, u64::MAX] {
            v.u(n).c(b' ');
        }
        v.u(-42i32)
            .c(b' ')
            .u(i64::MIN)
            .c(b' ')
            .u(255u8)
            .c(b' ')
            .u0(42, 5);
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "0 7 9 10 99 100 12345 4294967295 18446744073709551615 -42 -9223372036854775808 255 00042"
        );
    }

    #[test]
    fn every_number_up_to_a_million_prints_as_std_does() {
        let mut v = Vec::new();
        for n in (0u32..1_000_000).chain([9_999_999, 10_000_000, 999_999_999, 1_000_000_000]) {
            v.clear();
            v.u(n);
            assert_eq!(v, n.to_string().as_bytes());
        }
    }
}
