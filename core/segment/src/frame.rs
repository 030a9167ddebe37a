//! One record frame: `len: u32 | crc: u32 | payload`, and what can be wrong with one.

use core::fmt;

/// Bytes before a record's payload: its length and its checksum.
pub const FRAME_HEADER_LEN: usize = 8;

/// The largest payload a frame may carry (16 MiB). A frame declaring more is [`Damage::Oversized`]:
/// no writer of this format makes one, so such a length is garbage, not a torn write.
pub const MAX_RECORD: usize = 16 << 20;

/// A payload longer than [`MAX_RECORD`] cannot be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    /// The payload's length.
    pub len: usize,
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a record of {} bytes exceeds the {MAX_RECORD}-byte limit",
            self.len
        )
    }
}

impl core::error::Error for TooLarge {}

/// What the first invalid frame of a segment looks like. The kind describes the bytes,
/// not their cause: a crash mid-write and garbage past the end can look alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// Fewer than [`FRAME_HEADER_LEN`] bytes remain, not all zero: a frame cut inside its
    /// length or checksum.
    TornHeader {
        /// The bytes left.
        available: usize,
    },
    /// The frame declares more payload than the bytes hold: a record cut by a crash.
    TornPayload {
        /// The payload length the frame declares.
        declared: usize,
        /// The payload bytes present.
        available: usize,
    },
    /// The frame declares a payload longer than [`MAX_RECORD`]: garbage.
    Oversized {
        /// The declared length.
        declared: usize,
    },
    /// The frame is complete but its checksum does not match its length and payload.
    BadChecksum {
        /// The checksum stored in the frame.
        stored: u32,
        /// The checksum of the bytes found.
        computed: u32,
    },
    /// Every byte from here to the end is zero: a tail the file system extended with
    /// zeros (a crash after the size was recorded and before the data was).
    ZeroTail {
        /// The zero bytes.
        len: usize,
    },
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Damage::TornHeader { available } => {
                write!(
                    f,
                    "torn frame header ({available} of {FRAME_HEADER_LEN} bytes)"
                )
            }
            Damage::TornPayload {
                declared,
                available,
            } => write!(f, "torn record ({available} of {declared} payload bytes)"),
            Damage::Oversized { declared } => {
                write!(
                    f,
                    "garbage: a frame declaring {declared} bytes (limit {MAX_RECORD})"
                )
            }
            Damage::BadChecksum { stored, computed } => write!(
                f,
                "bad checksum (stored {stored:#010x}, computed {computed:#010x})"
            ),
            Damage::ZeroTail { len } => write!(f, "{len} zero bytes"),
        }
    }
}

impl core::error::Error for Damage {}

fn crc_of(len: [u8; 4], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&len);
    h.update(payload);
    h.finalize()
}

/// The 8 bytes that precede `payload` in its frame (write them, then the payload).
pub fn frame_header(payload: &[u8]) -> Result<[u8; FRAME_HEADER_LEN], TooLarge> {
    let too_large = TooLarge { len: payload.len() };
    if payload.len() > MAX_RECORD {
        return Err(too_large);
    }
    let len = u32::try_from(payload.len())
        .map_err(|_| too_large)?
        .to_le_bytes();
    let crc = crc_of(len, payload).to_le_bytes();
    let mut out = [0u8; FRAME_HEADER_LEN];
    out[..4].copy_from_slice(&len);
    out[4..].copy_from_slice(&crc);
    Ok(out)
}

/// Appends `payload`'s whole frame to `out`; `out` is unchanged on error.
#[cfg(feature = "alloc")]
pub fn push_record(out: &mut alloc::vec::Vec<u8>, payload: &[u8]) -> Result<(), TooLarge> {
    let head = frame_header(payload)?;
    out.reserve(FRAME_HEADER_LEN + payload.len());
    out.extend_from_slice(&head);
    out.extend_from_slice(payload);
    Ok(())
}

/// How many valid frames follow the damaged frame at the start of `bytes`: when that frame
/// is whole but fails its checksum, the valid frames right after it (records a repair that
/// cuts at the damage throws away); otherwise 0, since nothing after a torn or garbage
/// frame can be framed reliably.
pub fn valid_after_damage(bytes: &[u8]) -> u64 {
    let Err(Damage::BadChecksum { .. }) = decode_frame(bytes) else {
        return 0;
    };
    let declared = bytes
        .get(..4)
        .map_or(0, |l| u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize);
    let mut rest = bytes.get(FRAME_HEADER_LEN + declared..).unwrap_or_default();
    let mut count = 0;
    while !rest.is_empty() {
        let Ok((_, len)) = decode_frame(rest) else {
            break;
        };
        count += 1;
        rest = rest.get(len..).unwrap_or_default();
    }
    count
}

/// Decodes the frame at the start of `bytes` (which must not be empty): its payload and
/// the frame's whole length, or what is wrong with it. When the frame is bad and every
/// byte of `bytes` is zero, the damage is [`Damage::ZeroTail`] whatever else it is.
pub fn decode_frame(bytes: &[u8]) -> Result<(&[u8], usize), Damage> {
    decode_checked(bytes).map_err(|damage| {
        if bytes.iter().all(|b| *b == 0) {
            Damage::ZeroTail { len: bytes.len() }
        } else {
            damage
        }
    })
}

fn decode_checked(bytes: &[u8]) -> Result<(&[u8], usize), Damage> {
    let (head, rest) = match bytes.split_at_checked(FRAME_HEADER_LEN) {
        Some(split) => split,
        None => {
            return Err(Damage::TornHeader {
                available: bytes.len(),
            })
        }
    };
    let len_bytes = [head[0], head[1], head[2], head[3]];
    let stored = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let declared = u32::from_le_bytes(len_bytes) as usize;
    if declared > MAX_RECORD {
        return Err(Damage::Oversized { declared });
    }
    let payload = rest.get(..declared).ok_or(Damage::TornPayload {
        declared,
        available: rest.len(),
    })?;
    let computed = crc_of(len_bytes, payload);
    if computed != stored {
        return Err(Damage::BadChecksum { stored, computed });
    }
    Ok((payload, FRAME_HEADER_LEN + declared))
}
