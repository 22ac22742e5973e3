//! The walks every fuzz target runs, with the properties they assert; the regression test
//! `crates/rdb-format/tests/fuzz_regressions.rs` replays every saved crash through them.
//!
//! Properties, checked for every input (a violation panics, which libFuzzer reports as a crash):
//! * no panic anywhere in the decoder;
//! * every error carries an offset inside the input (`offset <= input length`), and a
//!   `blob_offset` no larger than any blob that input could decompress to;
//! * bounded work: each element visited (list item, member, pair, field, stream entry, field
//!   pair, group, PEL entry, consumer, consumer PEL id) consumes at least one byte of the input
//!   or of data decompressed from it, so the count may never exceed those bytes plus a small
//!   constant; a decoder that loops without consuming input trips this long before a timeout;
//! * a decoder, and every collection iterator of a value, yields nothing after its first error;
//! * the blob decoders agree with themselves: a blob read standalone, as an RDB value, and
//!   LZF-wrapped as an RDB value yields the same elements and the same error, with the offsets
//!   shifted exactly by the wrapping;
//! * checksum on and off agree on everything but the checksum;
//! * LZF decompression agrees with a plain byte-at-a-time reading of the format.

mod blobs;
mod decode;
mod lzf;
mod roundtrip;

pub use self::blobs::{blob, Blob};
pub use self::decode::{stream, value, walk_file, walk_value, whole_file, Outcome};
pub use self::lzf::lzf;
pub use self::roundtrip::{roundtrip, roundtrip_targets};

use rdb_format::{Error, Flavor, Scratch, Str, Version};

/// Versions the `value` target picks from with its second byte.
pub const VERSIONS: [Version; 17] = {
    let mut v = [Version {
        flavor: Flavor::Redis,
        number: 1,
    }; 17];
    let mut i = 0;
    while i < 15 {
        v[i].number = i as u32 + 1;
        i += 1;
    }
    v[15] = Version {
        flavor: Flavor::Valkey,
        number: 80,
    };
    v[16] = Version {
        flavor: Flavor::Valkey,
        number: 81,
    };
    v
};

/// Every fuzz target's name, as used in regression file names (`<target>-<name>`).
pub const TARGETS: [&str; 10] = [
    "whole_file",
    "value",
    "listpack",
    "ziplist",
    "intset",
    "zipmap",
    "lzf",
    "stream",
    "structured",
    "roundtrip",
];

/// Asserts the error properties for an input of `input_len` bytes.
pub fn check_error(e: &Error, input_len: usize, what: &str) {
    assert!(
        e.offset <= input_len as u64,
        "{what}: error offset {} past the {input_len}-byte input: {e}",
        e.offset
    );
    if let Some(b) = e.blob_offset {
        let max = rdb_format::lzf::max_decompressed_len(input_len);
        assert!(
            b <= max,
            "{what}: blob offset {b} past any blob {input_len} bytes can hold ({max}): {e}"
        );
    }
    // Display must not panic either.
    let shown = e.to_string();
    assert!(!shown.is_empty());
}

/// Counts visited elements against what the bytes allow.
pub struct Budget<'s> {
    used: u64,
    base: u64,
    scratch: Option<&'s Scratch>,
    what: &'static str,
}

impl<'s> Budget<'s> {
    /// At most `bytes + 8` elements, plus whatever is decompressed into `scratch`.
    pub fn new(bytes: usize, scratch: Option<&'s Scratch>, what: &'static str) -> Self {
        Budget {
            used: 0,
            base: bytes as u64 + 8,
            scratch,
            what,
        }
    }

    /// Elements visited so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// One more element.
    #[inline]
    pub fn tick(&mut self) {
        self.used += 1;
        if self.used > self.base {
            let extra = self.scratch.map_or(0, |s| s.allocated_bytes() as u64);
            assert!(
                self.used <= self.base + extra,
                "{}: visited {} elements from {} bytes (+{} decompressed): unbounded work",
                self.what,
                self.used,
                self.base - 8,
                extra
            );
        }
    }
}

/// Calls `f` on every item of `it` until the first error, which it returns; an error from `it`
/// itself must end it.
pub(super) fn each<T, I: Iterator<Item = Result<T, Error>>>(
    mut it: I,
    budget: &mut Budget<'_>,
    mut f: impl FnMut(T, &mut Budget<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    while let Some(item) = it.next() {
        budget.tick();
        match item {
            Ok(x) => f(x, budget)?,
            Err(e) => {
                fused_after(&mut it, &e);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// A collection iterator that returned `e` must yield nothing more: elements after an error
/// would be read from a misaligned position or skip the broken one silently.
///
/// `RDB_FUZZ_NO_FUSE_CHECK=1` turns this one check off, to keep fuzzing past a known, reported
/// case until the decoder is fixed.
pub(super) fn fused_after<T>(it: &mut impl Iterator<Item = Result<T, Error>>, e: &Error) {
    static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *OFF.get_or_init(|| std::env::var_os("RDB_FUZZ_NO_FUSE_CHECK").is_some_and(|v| v == "1")) {
        return;
    }
    assert!(
        it.next().is_none(),
        "a value iterator yielded more after its error: {e}"
    );
}

pub(super) fn touch(s: Str<'_>) {
    // Exercise the accessors a sink would call.
    let n = s.len();
    if let Str::Bytes(b) = s {
        assert_eq!(n, b.len());
    }
    let _ = s.as_i64();
}

/// Replays one regression file through the walk of the target its name starts with
/// (`<target>-<name>`). `structured` regressions are stored as the RDB file they generated and
/// replay through `whole_file`.
pub fn replay(name: &str, data: &[u8]) {
    let target = TARGETS
        .iter()
        .copied()
        .filter(|t| name.starts_with(&format!("{t}-")))
        .max_by_key(|t| t.len())
        .unwrap_or_else(|| panic!("regression file {name} does not start with a target name"));
    run(target, data);
}

/// Runs the walk of `target` on `data`.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "whole_file" | "structured" => whole_file(data),
        "value" => value(data),
        "stream" => stream(data),
        "listpack" => blob(Blob::Listpack, data),
        "ziplist" => blob(Blob::Ziplist, data),
        "intset" => blob(Blob::Intset, data),
        "zipmap" => blob(Blob::Zipmap, data),
        "lzf" => lzf(data),
        "roundtrip" => roundtrip(data),
        other => panic!("unknown target {other}"),
    }
}
