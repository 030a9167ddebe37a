//! A cache hint for the logs' append paths.
//!
//! Appends to many keys write many separate streams of memory (one tail chunk per key).
//! The hardware prefetcher follows only a handful of streams, so past a few dozen keys
//! nearly every new cache line of a tail is a demand miss to memory. Asking for the line
//! a little ahead of the write, on every append, hides that miss: with 100 keys the write
//! costs about what one sequential stream costs (see `BENCHMARKS.md`, offset-log append).

/// How far ahead of the next write to prefetch: two cache lines, far enough for the line to
/// arrive before a key's next few appends reach it, near enough not to run into the next
/// allocation for long.
const AHEAD_BYTES: usize = 128;

/// Hints that the memory `AHEAD_BYTES` past `next` (the slot the next append writes) will
/// be written soon. Only a hint: it never reads, writes or faults, whatever the address, so
/// a pointer past the end of the allocation is fine.
#[inline(always)]
pub(crate) fn ahead_of<T>(next: *const T) {
    let at = next.cast::<i8>().wrapping_add(AHEAD_BYTES);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` is part of SSE, which every x86_64 target has, and a prefetch
    // never dereferences its address: an invalid or unmapped one is ignored, not faulted.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(at)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}
