//! The CLI's integration tests, in one test binary (one link instead of one per file): each
//! module drives the real `rdb-convert` binary; `common` holds the shared support (real
//! servers, fill/compare, dump builders).
//!
//! `cargo test -p rdb-cli --test cli golden::` runs one module.

mod common;

mod arrow;
mod check;
mod cli_conventions;
mod cli_inputs;
mod completions;
mod decoder_gaps;
mod diff;
mod export_safety;
mod export_status;
mod golden;
mod hostile_outputs;
mod huge_values;
mod keys;
mod memory_compat;
mod parquet;
mod pipeline;
mod progress;
mod progress_lines;
mod real_servers;
mod report_html;
mod report_outputs;
mod reports;
mod resp;
mod robustness;
mod s3;
mod seed;
mod seed_credentials;
mod seed_safety;
mod seed_tls_cluster;
mod several_inputs;
mod source_expectations;
mod split;
mod top_min_memory;
