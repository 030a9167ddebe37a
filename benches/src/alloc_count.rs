//! A counting global allocator: wraps [`std::alloc::System`] and counts allocation calls and
//! requested bytes in process-wide atomics.
//!
//! Install it in a bench binary with
//! `#[global_allocator] static A: CountingAlloc = CountingAlloc::new();` and take
//! [`CountingAlloc::snapshot`]s around the code measured. The counts are process-wide, so
//! measure while no other thread allocates.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

/// The allocator. Invariant: every successful `alloc`, `alloc_zeroed` and `realloc` adds one
/// to the call count and its requested size (`realloc`: the new size) to the byte count;
/// frees are not counted. Allocation itself is delegated unchanged to `System`.
#[derive(Debug)]
pub struct CountingAlloc {
    calls: AtomicU64,
    bytes: AtomicU64,
}

/// Counts at one instant; subtract two to get what happened in between.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocCounts {
    /// Successful allocation calls (`alloc`, `alloc_zeroed`, `realloc`).
    pub calls: u64,
    /// Bytes requested by those calls.
    pub bytes: u64,
}

impl AllocCounts {
    /// `self - earlier`, saturating at zero.
    pub fn since(self, earlier: AllocCounts) -> AllocCounts {
        AllocCounts {
            calls: self.calls.saturating_sub(earlier.calls),
            bytes: self.bytes.saturating_sub(earlier.bytes),
        }
    }
}

impl CountingAlloc {
    /// A counter at zero; `const` so it can be a `static`.
    pub const fn new() -> Self {
        CountingAlloc {
            calls: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// The counts so far.
    pub fn snapshot(&self) -> AllocCounts {
        AllocCounts {
            calls: self.calls.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }

    fn record(&self, size: usize) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(size as u64, Ordering::Relaxed);
    }
}

impl Default for CountingAlloc {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees hold; the counters are only updated after a successful call.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout (non-zero size per the trait contract).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            self.record(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            self.record(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            self.record(new_size);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A private instance (not the global allocator) exercised directly.
    #[test]
    fn counts_calls_and_requested_bytes() {
        let a = CountingAlloc::new();
        let before = a.snapshot();
        let layout = Layout::from_size_align(100, 8).expect("layout");
        // SAFETY: non-zero size; the block is freed with the same layout (after realloc,
        // with the new size) before the test ends.
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null());
            let q = a.realloc(p, layout, 300);
            assert!(!q.is_null());
            a.dealloc(q, Layout::from_size_align(300, 8).expect("layout"));
            let z = a.alloc_zeroed(layout);
            assert!(!z.is_null());
            assert_eq!(*z, 0);
            a.dealloc(z, layout);
        }
        let d = a.snapshot().since(before);
        assert_eq!(
            d,
            AllocCounts {
                calls: 3,
                bytes: 500
            }
        );
    }
}
