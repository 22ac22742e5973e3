//! TLS flags for `rediss://` servers (seed, split --slots-from).

use std::path::PathBuf;

use clap::Args;
use rdb_cluster::target::TlsOptions;

/// TLS for a `rediss://` server (redis-cli's names; the key is --tls-key because --key is
/// the key filter).
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "TLS (with a rediss:// URL)")]
pub struct TlsArgs {
    /// Trust this CA certificate (PEM) instead of the system's.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Client certificate (PEM), for servers that check clients (tls-auth-clients).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub cert: Option<PathBuf>,

    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub tls_key: Option<PathBuf>,

    /// Do not check the server's certificate and name (testing only).
    #[arg(long)]
    pub insecure: bool,
}

impl TlsArgs {
    pub fn to_options(&self) -> TlsOptions {
        TlsOptions {
            ca_cert: self.cacert.clone(),
            cert: self.cert.clone(),
            key: self.tls_key.clone(),
            insecure: self.insecure,
        }
    }
}
