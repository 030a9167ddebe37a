//! Linear walks over sorted, disjoint, gap-separated run lists: union, difference, cover.

use crate::{Error, Run, Runs};

/// Writes the union of `a` and `b` into the empty `out`, gap-separated. Fails when `out`
/// runs out of room (then `out` holds a prefix and must be dropped).
pub(crate) fn union<S: Runs>(a: &[Run], b: &[Run], out: &mut S) -> Result<(), Error> {
    let (mut i, mut j) = (0, 0);
    let mut current: Option<Run> = None;
    loop {
        let next = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.0 <= y.0 => {
                i += 1;
                *x
            }
            (_, Some(y)) => {
                j += 1;
                *y
            }
            (Some(x), None) => {
                i += 1;
                *x
            }
            (None, None) => break,
        };
        current = match current {
            // Overlapping or adjacent (next.0 <= hi + 1): one run. At hi = i64::MAX
            // everything after overlaps, which saturating_add expresses.
            Some((lo, hi)) if next.0 <= hi.saturating_add(1) => Some((lo, hi.max(next.1))),
            Some(done) => {
                out.push(done)?;
                Some(next)
            }
            None => Some(next),
        };
    }
    if let Some(done) = current {
        out.push(done)?;
    }
    Ok(())
}

/// Writes `a` minus `b` into the empty `out`. Fails when `out` runs out of room.
pub(crate) fn difference<S: Runs>(a: &[Run], b: &[Run], out: &mut S) -> Result<(), Error> {
    let mut j = 0;
    for &(lo, hi) in a {
        // `from`: the first element of this run not yet known to be covered.
        let mut from = Some(lo);
        while let (Some(start), Some(&(blo, bhi))) = (from, b.get(j)) {
            if bhi < start {
                j += 1;
                continue;
            }
            if blo > hi {
                break;
            }
            if blo > start {
                out.push((start, blo - 1))?;
            }
            from = bhi.checked_add(1).filter(|next| *next <= hi);
            if bhi > hi {
                // This run of `b` may cover the start of the next run of `a` too.
                break;
            }
            j += 1;
        }
        if let Some(start) = from {
            out.push((start, hi))?;
        }
    }
    Ok(())
}

/// Whether `run` lies entirely within one run of `b` (runs are gap-separated, so a run
/// covered by `b` is covered by a single one of its runs).
pub(crate) fn covers(b: &[Run], run: Run) -> bool {
    let after = b.partition_point(|r| r.0 <= run.0);
    after > 0 && b[after - 1].1 >= run.1
}
