//! Read dumps from, and write exports to, S3 and S3-compatible stores (MinIO, Ceph, moto).
//!
//! An [`S3`] client is built from an [`S3Config`] resolved like the AWS CLI does (flags, then
//! `AWS_*` variables, then `~/.aws` profiles). It turns an [`S3Url`] (an object, a prefix or a
//! `*` glob) into [`ObjectInfo`]s with [`S3::resolve`], downloads them into local files the
//! pipeline memory-maps ([`S3::download`], or a [`Prefetcher`] that stays ahead of the
//! converter), and uploads a finished local output with [`S3::upload`], the manifest last.
//!
//! The client owns a small tokio runtime, so callers stay synchronous. Errors
//! ([`S3Error`]) name the URL and what to do: the permission a 403 lacks, the region a bucket
//! is in, a bucket name's broken rule (checked before any request).
//!
//! ```
//! use rdb_s3::{S3Url, Target};
//! let url = S3Url::parse("s3://backups/redis/name-*.rdb").unwrap();
//! assert_eq!(url.target, Target::Glob);
//! assert!(url.matches("redis/name-0002.rdb"));
//! assert!(S3Url::parse("s3://Backups/x.rdb").is_err()); // upper case: not a bucket name
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod client;
mod config;
mod credentials;
mod download;
mod error;
mod upload;
mod url;

pub use client::{ObjectInfo, S3Options, Sse, Transferred, S3};
pub use config::{Credentials, Env, ProcessEnv, Resolved, S3Config};
pub use download::{local_name, Downloaded, Fetched, InMemory, Prefetcher, SpoolDir};
pub use error::{Op, S3Error};
pub use upload::{files_under, mark_failed, set_status, UploadItem, Uploaded};
pub use url::{shard_number, validate_bucket, S3Url, Target};
