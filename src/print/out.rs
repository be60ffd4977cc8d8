//! Small formatting helpers that append to a byte buffer.
//!
//! The printers write millions of lines; `format!` and `write!` cost a
//! formatter round-trip per field, so numbers go through `itoa` and hex digits
//! are produced directly.

const HEX: &[u8; 16] = b"0123456789abcdef";

pub trait Out {
    fn s(&mut self, s: &str) -> &mut Self;
    fn u<N: itoa::Integer>(&mut self, n: N) -> &mut Self;
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
    fn u<N: itoa::Integer>(&mut self, n: N) -> &mut Self {
        let mut b = itoa::Buffer::new();
        self.extend_from_slice(b.format(n).as_bytes());
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
        let mut b = itoa::Buffer::new();
        let t = b.format(n);
        for _ in t.len()..width {
            self.push(b'0');
        }
        self.extend_from_slice(t.as_bytes());
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
}
