//! The 9-byte magic: `REDIS` + 4 digits, or `VALKEY` + 3 digits (Valkey 9+).

use std::fmt;

use crate::consts::*;
use crate::error::ErrorKind;
use crate::read::{fail, PResult};

/// Which server family wrote the file; some type and opcode bytes mean different things.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Flavor {
    /// `REDIS` magic (Redis, and Valkey before 9).
    Redis,
    /// `VALKEY` magic (Valkey 9+, RDB 80+).
    Valkey,
}

/// The RDB version of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    /// Magic family.
    pub flavor: Flavor,
    /// RDB version number.
    pub number: u32,
}

impl Version {
    /// Whether type and opcode bytes take their Valkey meanings.
    pub fn is_valkey(&self) -> bool {
        self.flavor == Flavor::Valkey
    }

    /// Whether the file ends with a CRC64 (RDB 5+).
    pub fn has_checksum(&self) -> bool {
        self.number >= 5
    }

    /// The version a file's first 9 bytes declare (future versions included), or `None` when
    /// they are not an RDB magic. For tools that look at a dump's bytes without decoding it
    /// (checking a download, say).
    ///
    /// ```
    /// use rdb_format::Version;
    /// assert_eq!(Version::from_magic(b"REDIS0011").map(|v| v.number), Some(11));
    /// assert!(Version::from_magic(b"\x1f\x8b\x08").is_none());
    /// ```
    pub fn from_magic(first_bytes: &[u8]) -> Option<Version> {
        magic(first_bytes, true).ok().map(|(_, v)| v)
    }

    /// The magic as written in the file, e.g. `REDIS0011` or `VALKEY080`.
    pub fn magic(&self) -> String {
        match self.flavor {
            Flavor::Redis => format!("REDIS{:04}", self.number),
            Flavor::Valkey => format!("VALKEY{:03}", self.number),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.magic())
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u32, |acc, d| {
        acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

/// The magic and version; versions newer than known fail unless `allow_future`.
pub(crate) fn magic(input: &[u8], allow_future: bool) -> PResult<'_, Version> {
    let Some(m) = input.first_chunk::<9>() else {
        let shown = String::from_utf8_lossy(input).into_owned();
        return fail(input, "magic", ErrorKind::BadMagic(shown));
    };
    let bad = || {
        fail(
            input,
            "magic",
            ErrorKind::BadMagic(String::from_utf8_lossy(m).into_owned()),
        )
    };
    let version = if &m[..5] == b"REDIS" {
        match digits(&m[5..]) {
            Some(n) if n >= 1 => Version {
                flavor: Flavor::Redis,
                number: n,
            },
            _ => return bad(),
        }
    } else if &m[..6] == b"VALKEY" {
        match digits(&m[6..]) {
            Some(n) if n >= RDB_VERSION_MIN_VALKEY => Version {
                flavor: Flavor::Valkey,
                number: n,
            },
            _ => return bad(),
        }
    } else {
        return bad();
    };
    let newest = match version.flavor {
        Flavor::Redis => RDB_VERSION_MAX_REDIS,
        Flavor::Valkey => RDB_VERSION_MAX_VALKEY,
    };
    if version.number > newest && !allow_future {
        let flavor = if version.is_valkey() {
            "Valkey"
        } else {
            "Redis"
        };
        return fail(
            input,
            "magic",
            ErrorKind::UnsupportedVersion {
                version: version.number,
                flavor,
                newest,
            },
        );
    }
    Ok((&input[9..], version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics() {
        assert_eq!(
            magic(b"REDIS0011", false).unwrap().1,
            Version {
                flavor: Flavor::Redis,
                number: 11
            }
        );
        assert_eq!(
            magic(b"VALKEY080", false).unwrap().1,
            Version {
                flavor: Flavor::Valkey,
                number: 80
            }
        );
        assert!(magic(b"REDIS0099", false).is_err());
        assert_eq!(magic(b"REDIS0099", true).unwrap().1.number, 99);
        assert!(magic(b"VALKEY011", false).is_err());
        assert!(magic(b"REDIS00x1", false).is_err());
        assert!(magic(b"REDIS0000", false).is_err());
        assert!(magic(b"HELLO0001", false).is_err());
        assert!(magic(b"RED", false).is_err());
    }
}
