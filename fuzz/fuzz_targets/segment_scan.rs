//! Segment recovery on arbitrary bytes. Three checks per input:
//!
//! 1. the input itself, read as a segment: `scan` must not panic and must find exactly the
//!    records (and valid length) of a reference decoder written from the format's
//!    description, and the sparse index must find each of them again;
//! 2. a segment built from records taken from the input, followed by the rest of the input
//!    as garbage: every built record must come back (they all precede the damage);
//! 3. that built segment cut at a point taken from the input: exactly the records whose
//!    frames end before the cut must come back.

#![no_main]

use glomers_segment::{find, push_record, scan, Header, HEADER_LEN, MAX_RECORD};
use libfuzzer_sys::fuzz_target;

/// Records and valid length by the format's description alone; `None` if the header is bad.
fn reference(bytes: &[u8]) -> Option<(Vec<&[u8]>, usize)> {
    let h = bytes.get(..20)?;
    if h[..4] != *b"GLSG" || h[4..8] != [1, 0, 0, 0] {
        return None;
    }
    if crc32fast::hash(&h[..16]).to_le_bytes() != h[16..20] || h[15] >= 0x80 {
        return None;
    }
    let (mut out, mut at) = (Vec::new(), 20);
    while let Some(frame) = bytes.get(at..at + 8) {
        let len = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        if len > MAX_RECORD {
            break;
        }
        let Some(payload) = bytes.get(at + 8..at + 8 + len) else {
            break;
        };
        let mut crc = crc32fast::Hasher::new();
        crc.update(&frame[..4]);
        crc.update(payload);
        if crc.finalize().to_le_bytes() != frame[4..8] {
            break;
        }
        out.push(payload);
        at += 8 + len;
    }
    Some((out, at))
}

fn check_raw(data: &[u8]) {
    let got = scan(data);
    match (&got, reference(data)) {
        (Ok(s), Some((want, end))) => {
            assert_eq!(s.records, want);
            assert_eq!(s.valid_end, end as u64);
            assert_eq!(s.damage.is_none(), end == data.len());
            for (i, payload) in s.records.iter().enumerate() {
                let index = s.header.base.wrapping_add(i as u64);
                let span = s.index.span(index, s.valid_end).expect("indexed");
                let bytes = &data[span.start as usize..span.end as usize];
                assert_eq!(find(bytes, span, index), Ok(Some(*payload)));
            }
        }
        (Err(_), None) => {}
        (got, want) => panic!("scan {got:?}, reference {want:?}"),
    }
}

/// Records taken from `data` (a count, then a length byte and that many bytes each), and
/// what is left.
fn records(data: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let Some((&count, mut rest)) = data.split_first() else {
        return (Vec::new(), data);
    };
    let mut out = Vec::new();
    for _ in 0..count % 32 {
        let Some((&len, tail)) = rest.split_first() else {
            break;
        };
        let (payload, tail) = tail.split_at((len as usize).min(tail.len()));
        out.push(payload);
        rest = tail;
    }
    (out, rest)
}

fn check_built(data: &[u8]) {
    let (recs, rest) = records(data);
    let mut seg = Header { base: 77 }.encode().to_vec();
    let mut ends = Vec::new();
    for r in &recs {
        push_record(&mut seg, r).expect("small record");
        ends.push(seg.len());
    }
    let whole = seg.len();
    seg.extend_from_slice(rest);
    let s = scan(&seg).expect("a written header");
    assert!(
        s.records.starts_with(&recs),
        "a record before the damage was lost"
    );
    assert!(s.valid_end >= whole as u64);

    let cut = match rest {
        [a, b, ..] => usize::from(u16::from_le_bytes([*a, *b])) % (whole + 1),
        _ => whole,
    };
    let kept = ends.iter().take_while(|e| **e <= cut).count();
    match scan(&seg[..cut]) {
        Ok(s) => {
            assert!(cut >= HEADER_LEN);
            assert_eq!(s.records, recs[..kept]);
        }
        Err(_) => assert!(cut < HEADER_LEN),
    }
}

fuzz_target!(|data: &[u8]| {
    check_raw(data);
    check_built(data);
});
