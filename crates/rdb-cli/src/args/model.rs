//! The memory-model flags (memory, top): the server and allocator whose memory use is
//! estimated.

use clap::Args;
use rdb_report::memory::{ModelOptions, Server};
use rdb_report::Allocator;

/// The server and settings whose memory use is modelled.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Memory model")]
pub struct ModelArgs {
    /// Model this server: 6.2, 7.0, 7.2, 7.4 (also for Redis 8), valkey-8.0, valkey-9
    /// (default: from the dump's redis-ver / valkey-ver aux field, else its RDB version).
    #[arg(long, value_name = "VERSION")]
    pub server: Option<Server>,

    /// The server's allocator: jemalloc (16-byte quantum; Redis ≤ 7.2, Valkey),
    /// jemalloc-8 (Redis 7.4+ builds) or libc (glibc malloc)
    /// (default: the modelled server's usual build).
    #[arg(long, value_name = "NAME")]
    pub allocator: Option<Allocator>,

    /// The server's list-compress-depth (inner quicklist nodes LZF-compressed in memory).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub list_compress_depth: u32,
}

impl ModelArgs {
    pub fn options(&self) -> ModelOptions {
        ModelOptions {
            server: self.server,
            allocator: self.allocator,
            list_compress_depth: self.list_compress_depth,
        }
    }
}
