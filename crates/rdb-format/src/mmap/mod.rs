//! Dump files mapped into memory (feature `mmap`): the decoder borrows straight from the
//! page cache, and a file cut while it is read becomes an error instead of a crash.
#![allow(unsafe_code)]

mod dump_file;
mod sigbus;

pub use dump_file::DumpFile;
