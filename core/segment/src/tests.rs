extern crate std;

use super::*;
use alloc::vec;
use alloc::vec::Vec;
use proptest::prelude::*;

/// A segment at `base` holding `records`, and the position where each frame ends.
fn segment(base: u64, records: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Header { base }.encode().to_vec();
    let mut ends = Vec::new();
    for r in records {
        push_record(&mut bytes, r).unwrap();
        ends.push(bytes.len());
    }
    (bytes, ends)
}

/// A decoder written from the format's description alone, to compare the crate with:
/// the header must be intact, then frames are taken while each is complete and its CRC
/// (over length and payload) matches.
fn reference(bytes: &[u8]) -> Option<(Vec<Vec<u8>>, usize)> {
    if bytes.len() < 20 || bytes[..4] != *b"GLSG" || bytes[4..8] != [1, 0, 0, 0] {
        return None;
    }
    if crc32fast::hash(&bytes[..16]).to_le_bytes() != bytes[16..20] || bytes[15] >= 0x80 {
        return None;
    }
    let (mut out, mut at) = (Vec::new(), 20);
    while bytes.len() - at >= 8 {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        if len > MAX_RECORD || bytes.len() - at - 8 < len {
            break;
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(&bytes[at..at + 4]);
        crc.update(&bytes[at + 8..at + 8 + len]);
        if crc.finalize().to_le_bytes() != bytes[at + 4..at + 8] {
            break;
        }
        out.push(bytes[at + 8..at + 8 + len].to_vec());
        at += 8 + len;
    }
    Some((out, at))
}

fn payloads(s: &Scan<'_>) -> Vec<Vec<u8>> {
    s.records.iter().map(|r| r.to_vec()).collect()
}

fn records() -> impl Strategy<Value = Vec<Vec<u8>>> {
    proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..30)
}

#[test]
fn a_written_segment_reads_back_whole() {
    let recs: Vec<Vec<u8>> = (0..200u32)
        .map(|i| i.to_le_bytes().repeat(i as usize % 7))
        .collect();
    let (bytes, _) = segment(7, &recs);
    let s = scan(&bytes).unwrap();
    assert_eq!(s.header, Header { base: 7 });
    assert_eq!(payloads(&s), recs);
    assert_eq!((s.damage, s.damaged_len), (None, 0));
    assert_eq!(s.valid_end, bytes.len() as u64);
    assert_eq!(s.next_index(), 207);
    assert_eq!(s.index.entries(), 4);
}

#[test]
fn header_damage_is_named() {
    let (bytes, _) = segment(3, &[b"x".to_vec()]);
    assert_eq!(scan(&[]).unwrap_err(), HeaderError::Short { len: 0 });
    assert_eq!(
        scan(&bytes[..19]).unwrap_err(),
        HeaderError::Short { len: 19 }
    );
    let mut magic = bytes.clone();
    magic[0] = b'X';
    assert_eq!(scan(&magic).unwrap_err(), HeaderError::BadMagic);
    let mut base = bytes.clone();
    base[9] ^= 1;
    assert!(matches!(scan(&base), Err(HeaderError::BadChecksum { .. })));
    let mut version = bytes.clone();
    version[4] = 2;
    let crc = crc32fast::hash(&version[..16]).to_le_bytes();
    version[16..20].copy_from_slice(&crc);
    assert_eq!(scan(&version).unwrap_err(), HeaderError::Version(2));
    let huge = Header { base: MAX_BASE + 1 }.encode();
    assert_eq!(
        scan(&huge).unwrap_err(),
        HeaderError::BaseTooLarge(MAX_BASE + 1)
    );
    assert_eq!(
        scan(&Header { base: MAX_BASE }.encode())
            .unwrap()
            .next_index(),
        MAX_BASE
    );
}

#[test]
fn each_kind_of_tail_damage_is_told_apart() {
    let recs = vec![b"alpha".to_vec(), b"beta".to_vec()];
    let (bytes, ends) = segment(0, &recs);
    let kind = |b: &[u8]| scan(b).unwrap().damage;
    assert_eq!(
        kind(&bytes[..ends[1] - 3]),
        Some(Damage::TornPayload {
            declared: 4,
            available: 1
        })
    );
    assert_eq!(
        kind(&bytes[..ends[0] + 3]),
        Some(Damage::TornHeader { available: 3 })
    );
    let mut flipped = bytes.clone();
    flipped[ends[1] - 1] ^= 0x40;
    assert!(matches!(kind(&flipped), Some(Damage::BadChecksum { .. })));
    let mut zeros = bytes.clone();
    zeros.extend_from_slice(&[0; 100]);
    assert_eq!(kind(&zeros), Some(Damage::ZeroTail { len: 100 }));
    let mut huge = bytes.clone();
    huge.extend_from_slice(&(MAX_RECORD as u32 + 1).to_le_bytes());
    huge.extend_from_slice(&[1; 12]);
    let s = scan(&huge).unwrap();
    assert_eq!(
        s.damage,
        Some(Damage::Oversized {
            declared: MAX_RECORD + 1
        })
    );
    assert_eq!((payloads(&s), s.damaged_len), (recs, 16));
}

#[test]
fn too_large_a_record_is_refused_and_nothing_written() {
    let mut out = vec![1, 2];
    let big = vec![0u8; MAX_RECORD + 1];
    assert_eq!(
        push_record(&mut out, &big),
        Err(TooLarge {
            len: MAX_RECORD + 1
        })
    );
    assert_eq!(out, [1, 2]);
    assert!(push_record(&mut out, &big[1..]).is_ok());
}

#[test]
fn the_sparse_index_finds_every_record_within_one_interval() {
    let recs: Vec<Vec<u8>> = (0..1000u32)
        .map(|i| i.to_be_bytes().repeat(1 + i as usize % 5))
        .collect();
    let (bytes, _) = segment(500, &recs);
    let s = scan(&bytes).unwrap();
    assert_eq!(s.index.entries(), 16);
    for (i, want) in recs.iter().enumerate() {
        let index = 500 + i as u64;
        let span = s.index.span(index, s.valid_end).unwrap();
        let chunk = &bytes[span.start as usize..span.end as usize];
        assert!(Records::at(chunk, span.start, span.first).count() as u64 <= INDEX_INTERVAL);
        assert_eq!(find(chunk, span, index), Ok(Some(&want[..])));
    }
    assert_eq!(s.index.span(499, s.valid_end), None);
    let last = s.index.span(1499, s.valid_end).unwrap();
    let chunk = &bytes[last.start as usize..last.end as usize];
    assert_eq!(find(chunk, last, 1500), Ok(None));
    let mut rotten = chunk.to_vec();
    rotten[10] ^= 1;
    assert!(find(&rotten, last, 1499).is_err());
}

#[test]
fn the_index_ignores_out_of_order_notes() {
    let mut ix = SparseIndex::new(10);
    ix.note(5, 20);
    ix.note(74, 100);
    assert_eq!(ix.entries(), 0);
    ix.note(10, 20);
    ix.note(10, 20);
    ix.note(74, 10);
    assert_eq!(ix.entries(), 1);
    ix.note(74, 30);
    assert_eq!(ix.entries(), 2);
}

proptest! {
    /// A segment cut anywhere keeps exactly the records whose frames end before the cut.
    #[test]
    fn a_truncated_segment_keeps_every_complete_record(recs in records(), cut in any::<prop::sample::Index>()) {
        let (bytes, ends) = segment(42, &recs);
        let cut = HEADER_LEN + cut.index(bytes.len() - HEADER_LEN + 1);
        let s = scan(&bytes[..cut]).unwrap();
        let whole = ends.iter().take_while(|e| **e <= cut).count();
        prop_assert_eq!(payloads(&s), recs[..whole].to_vec());
        let end = if whole == 0 { HEADER_LEN } else { ends[whole - 1] };
        prop_assert_eq!(s.valid_end, end as u64);
        prop_assert_eq!(s.damage.is_none(), end == cut);
        prop_assert_eq!(s.damaged_len, cut - end);
    }

    /// A byte changed inside a frame loses that record and those after it, no earlier one.
    #[test]
    fn a_flipped_byte_loses_no_earlier_record(
        recs in records().prop_filter("a record", |r| !r.is_empty()),
        at in any::<prop::sample::Index>(),
        xor in 1u8..,
    ) {
        let (mut bytes, ends) = segment(0, &recs);
        let pos = HEADER_LEN + at.index(bytes.len() - HEADER_LEN);
        bytes[pos] ^= xor;
        let s = scan(&bytes).unwrap();
        let before = ends.iter().take_while(|e| **e <= pos).count();
        prop_assert_eq!(payloads(&s), recs[..before].to_vec());
        prop_assert!(s.damage.is_some());
    }

    /// Garbage after the last record loses nothing.
    #[test]
    fn appended_garbage_loses_nothing(recs in records(), junk in proptest::collection::vec(any::<u8>(), 1..64)) {
        let (mut bytes, _) = segment(9, &recs);
        bytes.extend_from_slice(&junk);
        let s = scan(&bytes).unwrap();
        prop_assert!(payloads(&s).starts_with(&recs));
        prop_assert_eq!(s.header.base, 9);
    }

    /// Any bytes at all: no panic, and the same records as the reference decoder.
    #[test]
    fn any_bytes_scan_like_the_reference(
        recs in records(),
        junk in proptest::collection::vec(any::<u8>(), 0..64),
        raw in any::<bool>(),
    ) {
        let bytes = if raw { junk } else {
            let (mut b, _) = segment(1, &recs);
            b.extend_from_slice(&junk);
            b
        };
        match (scan(&bytes), reference(&bytes)) {
            (Ok(s), Some((want, end))) => {
                prop_assert_eq!(payloads(&s), want);
                prop_assert_eq!(s.valid_end, end as u64);
            }
            (Err(_), None) => {}
            (got, want) => prop_assert!(false, "scan {:?}, reference {:?}", got, want),
        }
    }
}
