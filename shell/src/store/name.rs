//! Names of logs and values: plain file names inside the store's directory, never a path.

use super::StoreError;

/// The longest name accepted, in bytes (a temporary file adds a `.` and `.tmp` to it, well
/// within the 255 bytes file systems allow).
pub const MAX_NAME: usize = 200;

/// Accepts `name` if it is a plain file name: not empty, at most [`MAX_NAME`] bytes, no
/// `/`, `\`, NUL or `..`, and not starting with `.` (which the store keeps for its
/// temporary files, and which `.` and `..` start with).
pub fn check(name: &str) -> Result<(), StoreError> {
    let why = if name.is_empty() {
        Some("empty")
    } else if name.len() > MAX_NAME {
        Some("longer than 200 bytes")
    } else if name.contains(['/', '\\']) {
        Some("contains a path separator")
    } else if name.contains('\0') {
        Some("contains NUL")
    } else if name.contains("..") {
        Some("contains `..`")
    } else if name.starts_with('.') {
        Some("starts with `.`")
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(StoreError::BadName {
            name: name.to_owned(),
            why,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_and_paths_do_not() {
        for ok in ["kafka-log", "commits", "k.1", "a b", "ü"] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        let long = "x".repeat(MAX_NAME + 1);
        for bad in [
            "", ".", "..", "../x", "a/b", "/abs", "a\\b", "a\0b", ".hidden", "a..b", &long,
        ] {
            assert!(
                matches!(check(bad), Err(StoreError::BadName { .. })),
                "{bad:?}"
            );
        }
        assert!(check(&long[1..]).is_ok());
    }
}
