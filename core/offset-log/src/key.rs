//! How [`crate::OffsetLog`] compares a looked-up key with the keys it holds.
//!
//! Every lookup ends in one equality test against the held key the hash led to. For
//! string keys the standard comparison is a call into the C library's `memcmp`, which for
//! the short keys of a Kafka workload ("1", "42", "k7") costs more than the rest of the
//! lookup. [`KeyEq`] lets a key type say how to compare; strings and byte strings of up to
//! 16 bytes compare in two word loads per side, inline.

/// Equality as `OffsetLog` tests it; must agree with [`Eq`] (and so with [`Hash`]).
pub trait KeyEq {
    /// Whether `self` and `other` are the same key.
    fn key_eq(&self, other: &Self) -> bool;
}

/// The bytes `at..at + W` of `s` as an array (an unaligned word load); `at + W <= s.len()`.
#[inline(always)]
fn word<const W: usize>(s: &[u8], at: usize) -> [u8; W] {
    let mut w = [0u8; W];
    w.copy_from_slice(&s[at..at + W]);
    w
}

/// Byte-string equality: up to 16 bytes as two overlapping loads of the widest word that
/// fits (the first and the last `W` bytes cover all of them); longer ones by `memcmp`.
#[inline(always)]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1 => a[0] == b[0],
        2..=3 => word::<2>(a, 0) == word::<2>(b, 0) && word::<2>(a, n - 2) == word::<2>(b, n - 2),
        4..=7 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        8..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        _ => a == b,
    }
}

impl KeyEq for [u8] {
    #[inline(always)]
    fn key_eq(&self, other: &Self) -> bool {
        bytes_eq(self, other)
    }
}

impl KeyEq for str {
    #[inline(always)]
    fn key_eq(&self, other: &Self) -> bool {
        bytes_eq(self.as_bytes(), other.as_bytes())
    }
}

#[cfg(feature = "alloc")]
impl KeyEq for alloc::string::String {
    #[inline(always)]
    fn key_eq(&self, other: &Self) -> bool {
        bytes_eq(self.as_bytes(), other.as_bytes())
    }
}

#[cfg(feature = "alloc")]
impl KeyEq for alloc::vec::Vec<u8> {
    #[inline(always)]
    fn key_eq(&self, other: &Self) -> bool {
        bytes_eq(self, other)
    }
}

impl<T: KeyEq + ?Sized> KeyEq for &T {
    #[inline(always)]
    fn key_eq(&self, other: &Self) -> bool {
        (**self).key_eq(*other)
    }
}

/// Keys whose `==` is already a register compare.
macro_rules! key_eq_by_eq {
    ($($t:ty),*) => {$(
        impl KeyEq for $t {
            #[inline(always)]
            fn key_eq(&self, other: &Self) -> bool {
                self == other
            }
        }
    )*};
}
key_eq_by_eq!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, char, bool);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The word-load comparison agrees with slice equality at every length around the
        /// load widths, for equal strings, strings differing in one byte, and unrelated ones.
        #[test]
        fn agrees_with_slice_equality(
            a in proptest::collection::vec(any::<u8>(), 0..40),
            flip in any::<usize>(),
            bit in 0u8..8,
            other in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            prop_assert!(bytes_eq(&a, &a));
            prop_assert_eq!(bytes_eq(&a, &other), a == other);
            if !a.is_empty() {
                let mut b = a.clone();
                b[flip % a.len()] ^= 1 << bit;
                prop_assert!(!bytes_eq(&a, &b));
                prop_assert!(!bytes_eq(&b, &a));
            }
        }
    }

    #[test]
    fn each_byte_of_each_short_length_counts() {
        for n in 0..=20usize {
            let a: alloc::vec::Vec<u8> = (0..n as u8).collect();
            assert!(a.key_eq(&a.clone()), "len {n} equal to itself");
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 0x80;
                assert!(!a.key_eq(&b), "len {n}, byte {i} differs");
            }
            let longer: alloc::vec::Vec<u8> = (0..=n as u8).collect();
            assert!(!a.key_eq(&longer), "len {n} against len {}", n + 1);
        }
    }
}
