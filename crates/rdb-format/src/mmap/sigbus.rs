//! Surviving a dump truncated while it is mapped.
//!
//! Reading a mapped page past the new end of a truncated file raises SIGBUS, which kills
//! the process with no message and leaves its outputs half done. The handler here maps
//! zero-filled memory over the rest of the mapping and marks it as cut; the reader then
//! sees zeros, and [`super::DumpFile::verify`] turns that into an error before any
//! of it is used. A SIGBUS outside every registered mapping is handed back to the previous
//! handler (Rust's stack-overflow report, or the default action).
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

/// Mappings watched at once (dumps open at the same time); more are simply not protected.
const SLOTS: usize = 64;

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicUsize = AtomicUsize::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const NO: AtomicBool = AtomicBool::new(false);

static USED: [AtomicBool; SLOTS] = [NO; SLOTS];
static START: [AtomicUsize; SLOTS] = [ZERO; SLOTS];
/// Bytes of the mapping, 0 while the slot is free.
static LEN: [AtomicUsize; SLOTS] = [ZERO; SLOTS];
static CUT: [AtomicBool; SLOTS] = [NO; SLOTS];
static PAGE: AtomicUsize = AtomicUsize::new(4096);

static INSTALL: Once = Once::new();
/// The handler replaced, restored for faults that are not ours.
static mut PREVIOUS: Option<libc::sigaction> = None;

/// A watched mapping; unwatched on drop (before the mapping goes away).
#[derive(Debug)]
pub(crate) struct Watch(usize);

impl Watch {
    /// Watches `len` bytes at `start`, or returns None when every slot is taken.
    pub(crate) fn new(start: *const u8, len: usize) -> Option<Watch> {
        install();
        for i in 0..SLOTS {
            if USED[i]
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                START[i].store(start as usize, Ordering::Relaxed);
                CUT[i].store(false, Ordering::Relaxed);
                LEN[i].store(len, Ordering::Release);
                return Some(Watch(i));
            }
        }
        None
    }

    /// Whether a read past the file's end was caught.
    pub(crate) fn cut(&self) -> bool {
        CUT[self.0].load(Ordering::Acquire)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        LEN[self.0].store(0, Ordering::Release);
        USED[self.0].store(false, Ordering::Release);
    }
}

fn install() {
    INSTALL.call_once(|| {
        // SAFETY: sysconf and sigaction are called with valid arguments; the action struct
        // is fully initialised (zeroed, then the fields we use set). PREVIOUS is written
        // once, here, before the handler that reads it is installed.
        unsafe {
            let page = libc::sysconf(libc::_SC_PAGESIZE);
            if page > 0 {
                PAGE.store(page as usize, Ordering::Relaxed);
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let mut previous: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut previous) == 0 {
                *std::ptr::addr_of_mut!(PREVIOUS) = Some(previous);
                libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
            }
        }
    });
}

extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers. Only atomics,
    // mmap and sigaction (system calls, async-signal-safe in practice) are used. The mapping
    // a slot names is alive: its owner is the one reading it, which is this faulting thread
    // or one that holds the same borrow.
    unsafe {
        let addr = (*info).si_addr() as usize;
        let page = PAGE.load(Ordering::Relaxed);
        for i in 0..SLOTS {
            let len = LEN[i].load(Ordering::Acquire);
            let start = START[i].load(Ordering::Relaxed);
            if len == 0 || addr < start || addr >= start + len {
                continue;
            }
            // Zeros from the faulting page to the end of the mapping: one fault per cut.
            let from = addr & !(page - 1);
            let end = (start + len).div_ceil(page) * page;
            let p = libc::mmap(
                from as *mut libc::c_void,
                end - from,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            );
            if p != libc::MAP_FAILED {
                CUT[i].store(true, Ordering::Release);
                return;
            }
        }
        // Not ours: put the previous handler back; the access faults again and gets it.
        match *std::ptr::addr_of!(PREVIOUS) {
            Some(ref previous) => libc::sigaction(libc::SIGBUS, previous, std::ptr::null_mut()),
            None => {
                libc::signal(libc::SIGBUS, libc::SIG_DFL);
                0
            }
        };
    }
}
