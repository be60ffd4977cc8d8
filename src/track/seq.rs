//! Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4).

/// Signed distance from `b` to `a`: positive when `a` is after `b`.
#[inline]
pub fn diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// `a` comes strictly after `b`.
#[inline]
pub fn gt(a: u32, b: u32) -> bool {
    diff(a, b) > 0
}

/// `lo < x <= hi`, with wrapping (the acceptable-ACK test of RFC 9293 §3.10.7.3).
#[inline]
pub fn in_half_open(x: u32, lo: u32, hi: u32) -> bool {
    let span = hi.wrapping_sub(lo);
    let off = x.wrapping_sub(lo);
    off != 0 && off <= span
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wraps_around() {
        assert!(gt(1, u32::MAX));
        assert!(!gt(u32::MAX, 1));
        assert_eq!(diff(5, u32::MAX - 4), 10);
        assert!(in_half_open(0, u32::MAX, 0));
        assert!(!in_half_open(u32::MAX, u32::MAX, 0));
    }

    /// Numbers within reach of the 2^32 wrap, on either side, or anywhere.
    fn near_wrap() -> impl Strategy<Value = u32> {
        prop_oneof![
            u32::MAX - 2_000_000..=u32::MAX,
            0u32..2_000_000,
            any::<u32>()
        ]
    }

    proptest! {
        #[test]
        fn diff_inverts_addition(a in near_wrap(), d in -(1i32 << 30)..(1i32 << 30)) {
            prop_assert_eq!(diff(a.wrapping_add(d as u32), a), d);
        }

        #[test]
        fn order_holds_across_the_wrap(a in near_wrap(), d in 1u32..(1 << 31)) {
            // Anything less than half the space ahead is after, wrapped or not.
            let b = a.wrapping_add(d);
            prop_assert!(gt(b, a));
            prop_assert!(!gt(a, b));
            prop_assert!(!gt(a, a));
            prop_assert_eq!(i64::from(diff(b, a)), i64::from(d));
            prop_assert_eq!(i64::from(diff(a, b)), -i64::from(d));
        }

        #[test]
        fn half_open_matches_offsets(lo in near_wrap(), span in 0u32..1_000_000, off in 0u32..2_000_000) {
            let x = lo.wrapping_add(off);
            prop_assert_eq!(in_half_open(x, lo, lo.wrapping_add(span)), off >= 1 && off <= span);
        }
    }
}
