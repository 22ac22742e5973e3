//! A global allocator that counts and caps allocations while a fuzz input is being decoded.
//!
//! The allocator only counts when it is installed: the fuzz crate and
//! `crates/rdb-format/tests/fuzz_regressions.rs` each declare `#[global_allocator] static ALLOC:
//! CapAlloc = CapAlloc;` themselves, so that other users of this crate keep the system
//! allocator. Without it, [`arm`] and [`capped`] cost nothing and check nothing.
//!
//! The cap is per thread and only active between [`arm`] and the drop of the guard it returns,
//! so allocations made by libFuzzer's driver or by other test threads are not counted. A single
//! allocation above the cap prints a message and aborts the process (panicking inside an
//! allocator is not allowed); libFuzzer reports the abort as a crash and saves the input.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The bound for one allocation while decoding an input of `input_len` bytes.
///
/// LZF lets `n` compressed bytes stand for up to `88 n + 8` bytes (a 3-byte back-reference
/// yields 264), and the decoder decompresses into a bump arena ([`rdb_format::Scratch`]) whose
/// next chunk may be twice the previous one, so 200× the input plus a fixed 1 MiB is the most a
/// correct decoder can ask for. Anything above that is a length taken from the input without
/// checking it against the bytes that are actually there.
pub fn limit_for(input_len: usize) -> usize {
    input_len.saturating_mul(200).saturating_add(1 << 20)
}

thread_local! {
    static LIMIT: Cell<usize> = const { Cell::new(usize::MAX) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static TOTAL: Cell<usize> = const { Cell::new(0) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

/// What was allocated while armed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// The largest single allocation (or reallocation's new size).
    pub largest: usize,
    /// Sum of all allocation sizes (not live bytes).
    pub total: usize,
    /// Number of allocations.
    pub count: usize,
}

/// Caps single allocations on this thread at `limit` bytes until the guard is dropped.
pub fn arm(limit: usize) -> Guard {
    let _ = LIMIT.try_with(|l| l.set(limit));
    let _ = LARGEST.try_with(|l| l.set(0));
    let _ = TOTAL.try_with(|l| l.set(0));
    let _ = COUNT.try_with(|l| l.set(0));
    Guard { _private: () }
}

/// Runs `f` on `data` with allocations capped for an input of `data.len()` bytes.
pub fn capped(data: &[u8], f: impl FnOnce(&[u8])) {
    let _guard = arm(limit_for(data.len()));
    f(data);
}

/// Restores an unlimited cap when dropped.
pub struct Guard {
    _private: (),
}

impl Guard {
    /// What was allocated on this thread since [`arm`].
    pub fn stats(&self) -> Stats {
        Stats {
            largest: LARGEST.try_with(Cell::get).unwrap_or(0),
            total: TOTAL.try_with(Cell::get).unwrap_or(0),
            count: COUNT.try_with(Cell::get).unwrap_or(0),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = LIMIT.try_with(|l| l.set(usize::MAX));
    }
}

/// The allocator: the system allocator plus the per-thread cap.
pub struct CapAlloc;

#[inline]
fn check(size: usize) {
    let limit = LIMIT.try_with(Cell::get).unwrap_or(usize::MAX);
    // Not while panicking: the panic message and backtrace are the report, let them allocate.
    if limit == usize::MAX || std::thread::panicking() {
        return;
    }
    let _ = COUNT.try_with(|c| c.set(c.get() + 1));
    let _ = TOTAL.try_with(|c| c.set(c.get().saturating_add(size)));
    let _ = LARGEST.try_with(|c| c.set(c.get().max(size)));
    if size > limit {
        // No allocation from here on: format into a stack buffer and write(2) it.
        use std::io::Write;
        let mut buf = [0u8; 160];
        let mut cur = std::io::Cursor::new(&mut buf[..]);
        let _ = write!(
            cur,
            "\n==alloc_cap== single allocation of {size} bytes exceeds the cap of {limit} bytes\n"
        );
        let n = cur.position() as usize;
        let _ = std::io::stderr().write_all(&buf[..n]);
        std::process::abort();
    }
}

unsafe impl GlobalAlloc for CapAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        System.alloc(layout)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        System.alloc_zeroed(layout)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size);
        System.realloc(ptr, layout, new_size)
    }
}
