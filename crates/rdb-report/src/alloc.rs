//! Allocator size classes: what `zmalloc_size()` answers for an allocation of `n` bytes.
//!
//! Redis counts memory with the allocator's usable size, so a 21-byte string object costs 24
//! or 32 bytes depending on the allocator's size classes.

use std::fmt;
use std::str::FromStr;

/// The allocator a server was built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Allocator {
    /// jemalloc with its default 16-byte quantum (classes 8, 16, 32, 48, … 128, 160, 192, …):
    /// Redis up to 7.2 and distribution packages.
    Jemalloc,
    /// jemalloc built with `--with-lg-quantum=3` (8-byte quantum: 8, 16, 24, 32, 40, …), as
    /// bundled with Redis 7.4 and later.
    Jemalloc8,
    /// glibc `malloc`: chunks of 16-byte multiples with an 8-byte header (usable 24, 40, 56, …).
    Libc,
}

impl Allocator {
    /// The usable size of an allocation of `n` bytes.
    pub fn usable(self, n: u64) -> u64 {
        match self {
            Allocator::Jemalloc => jemalloc(n, 16),
            Allocator::Jemalloc8 => jemalloc(n, 8),
            Allocator::Libc => libc(n),
        }
    }

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Allocator::Jemalloc => "jemalloc",
            Allocator::Jemalloc8 => "jemalloc-8",
            Allocator::Libc => "libc",
        }
    }
}

impl fmt::Display for Allocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Allocator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "jemalloc" | "jemalloc-16" => Ok(Allocator::Jemalloc),
            "jemalloc-8" => Ok(Allocator::Jemalloc8),
            "libc" | "glibc" => Ok(Allocator::Libc),
            _ => Err(format!("expected jemalloc, jemalloc-8 or libc, got {s:?}")),
        }
    }
}

/// jemalloc 5 size classes: multiples of the quantum up to four quanta… then four classes per
/// doubling (spacing a quarter of the lower power of two), small and large alike.
fn jemalloc(n: u64, quantum: u64) -> u64 {
    if n <= 8 {
        return 8;
    }
    // Below 4 quanta × 2 (64 with an 8-byte quantum, 128 with 16) classes are quantum-spaced.
    let linear_max = quantum * 8;
    if n <= linear_max {
        return n.div_ceil(quantum) * quantum;
    }
    let k = 63 - (n - 1).leading_zeros() as u64; // 2^k < n <= 2^(k+1)
    let spacing = 1u64 << (k - 2);
    n.div_ceil(spacing) * spacing
}

/// glibc: a chunk is the request plus an 8-byte size field, rounded up to 16, at least 32;
/// the usable part is the chunk minus that field. Requests above the mmap threshold are
/// mapped pages (a 16-byte header, page-rounded); the threshold starts at 128 KiB but rises
/// to the size of freed mapped chunks, as a server that loaded a dump has done, so only
/// requests beyond its 32 MiB ceiling are taken as mapped.
fn libc(n: u64) -> u64 {
    if n >= 32 * 1024 * 1024 {
        return (n + 16).div_ceil(4096) * 4096 - 16;
    }
    let chunk = ((n + 8 + 15) & !15).max(32);
    chunk - 8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jemalloc_classes() {
        let j = |n| Allocator::Jemalloc.usable(n);
        let expect = [
            (1, 8),
            (8, 8),
            (9, 16),
            (17, 32),
            (21, 32),
            (33, 48),
            (64, 64),
            (65, 80),
            (128, 128),
            (129, 160),
            (257, 320),
            (520, 640),
            (4097, 5120),
            (16385, 20480),
        ];
        for (n, c) in expect {
            assert_eq!(j(n), c, "jemalloc({n})");
        }
    }

    #[test]
    fn jemalloc8_classes() {
        let j = |n| Allocator::Jemalloc8.usable(n);
        for (n, c) in [(21, 24), (33, 40), (65, 80), (72, 80), (129, 160)] {
            assert_eq!(j(n), c, "jemalloc-8({n})");
        }
    }

    #[test]
    fn libc_chunks() {
        let l = |n| Allocator::Libc.usable(n);
        for (n, c) in [
            (1, 24),
            (24, 24),
            (25, 40),
            (120, 120),
            (121, 136),
            (304, 312),
        ] {
            assert_eq!(l(n), c, "libc({n})");
        }
    }
}
