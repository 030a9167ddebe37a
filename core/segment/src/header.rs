//! The segment header: magic, version, base index, and a checksum over them.

use core::fmt;

/// The first four bytes of every segment.
pub const MAGIC: [u8; 4] = *b"GLSG";

/// The format version this crate writes and reads.
pub const VERSION: u32 = 1;

/// The header's length: magic (4), version (4), base index (8), CRC-32 of those 16 (4).
pub const HEADER_LEN: usize = 20;

/// The largest base index a header may carry: indexes are below 2^63, as Kafka's signed
/// 64-bit offsets are, so `base + records` never overflows (a segment holds fewer than
/// 2^61 frames).
pub const MAX_BASE: u64 = i64::MAX as u64;

/// A segment's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The index of the segment's first record.
    pub base: u64,
}

/// Why a segment's header cannot be read; the segment then holds no readable record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than [`HEADER_LEN`] bytes (an empty file is `Short { len: 0 }`).
    Short {
        /// The bytes present.
        len: usize,
    },
    /// The first four bytes are not [`MAGIC`]: not a segment.
    BadMagic,
    /// A version this crate does not read.
    Version(u32),
    /// A base index above [`MAX_BASE`].
    BaseTooLarge(u64),
    /// The header's checksum does not match its bytes.
    BadChecksum {
        /// The checksum stored in the header.
        stored: u32,
        /// The checksum of the bytes found.
        computed: u32,
    },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            HeaderError::Short { len } => {
                write!(f, "segment header cut short ({len} of {HEADER_LEN} bytes)")
            }
            HeaderError::BadMagic => write!(f, "not a segment (bad magic)"),
            HeaderError::Version(v) => {
                write!(f, "segment format version {v} (this reads {VERSION})")
            }
            HeaderError::BaseTooLarge(b) => write!(f, "base index {b} above {MAX_BASE}"),
            HeaderError::BadChecksum { stored, computed } => write!(
                f,
                "bad segment header checksum (stored {stored:#010x}, computed {computed:#010x})"
            ),
        }
    }
}

impl core::error::Error for HeaderError {}

impl Header {
    /// The header's bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..4].copy_from_slice(&MAGIC);
        out[4..8].copy_from_slice(&VERSION.to_le_bytes());
        out[8..16].copy_from_slice(&self.base.to_le_bytes());
        let crc = crc32fast::hash(&out[..16]);
        out[16..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads the header at the start of `segment` (any further bytes are ignored).
    pub fn decode(segment: &[u8]) -> Result<Header, HeaderError> {
        let Some(h) = segment.first_chunk::<HEADER_LEN>() else {
            return Err(HeaderError::Short { len: segment.len() });
        };
        if h[..4] != MAGIC {
            return Err(HeaderError::BadMagic);
        }
        let stored = u32::from_le_bytes([h[16], h[17], h[18], h[19]]);
        let computed = crc32fast::hash(&h[..16]);
        if stored != computed {
            return Err(HeaderError::BadChecksum { stored, computed });
        }
        let version = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        if version != VERSION {
            return Err(HeaderError::Version(version));
        }
        let mut base = [0u8; 8];
        base.copy_from_slice(&h[8..16]);
        let base = u64::from_le_bytes(base);
        if base > MAX_BASE {
            return Err(HeaderError::BaseTooLarge(base));
        }
        Ok(Header { base })
    }
}
