//! Shared helpers for the integration tests that run real Redis / Valkey
//! servers: locating and starting a server (`server`), filling it with every
//! data type and encoding (`fill`), running `rdb-convert` and comparing its
//! NDJSON output with what the server reports (`compare`), plus small byte
//! utilities (`bytes`), cluster nodes (`cluster`), server-to-server diffs
//! (`servers_diff`), dump builders (`dumps`) and an application-like keyspace
//! (`keyspace`); and two process helpers: sending a signal, listing what a run left in a
//! directory.
//!
//! The server binaries are installed by `scripts/test-deps.sh`, which writes
//! `<workspace>/.test-deps/servers.env`. Environment variables of the same
//! names (`RDB_TEST_REDIS70`, ...) take precedence over that file.
#![allow(dead_code)]

pub mod bytes;
pub mod cluster;
pub mod compare;
pub mod dumps;
pub mod fill;
pub mod keyspace;
pub mod server;
pub mod servers_diff;

#[allow(unused_imports)]
pub use server::{Kind, Server};

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// Sends `sig` (`-TERM`, `-INT`, ...) to `child`.
pub fn signal(child: &Child, sig: &str) {
    let st = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// Every file and directory under `dir`, depth first (empty when `dir` is missing).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(files_under(&p));
        }
        found.push(p);
    }
    found
}
