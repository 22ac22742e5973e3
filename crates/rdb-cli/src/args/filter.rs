//! The filter flags every command shares, mapped to [`rdb_pipeline::filter::Filter`].

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use rdb_format::Type;
use rdb_pipeline::filter::{ExpiryFilter, Filter};

/// Which keys to process. Filters run before a value is decoded.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Filters")]
pub struct FilterArgs {
    /// Only this database (repeatable).
    #[arg(long = "db", value_name = "N")]
    pub dbs: Vec<u64>,

    /// Only keys matching this glob (Redis SCAN MATCH syntax: *, ?, [a-z], \x).
    #[arg(long = "key", value_name = "GLOB")]
    pub key_glob: Option<String>,

    /// Only keys matching this regular expression (Rust regex syntax, over the key's bytes).
    #[arg(long, value_name = "RE", value_parser = valid_regex)]
    pub key_regex: Option<String>,

    /// Only this type (repeatable).
    #[arg(long = "type", value_name = "TYPE", value_enum)]
    pub types: Vec<TypeArg>,

    /// Keys by expiry: any, none, set, or expired-at-or-before:UNIX_MS.
    #[arg(long, value_name = "WHICH", default_value = "any")]
    pub expiry: ExpiryFilter,

    /// Only keys whose serialized record is at least this many bytes.
    #[arg(long, value_name = "BYTES")]
    pub min_size: Option<u64>,
}

/// Checks the expression when the flags are parsed, so a bad one is a usage error (exit 2).
fn valid_regex(re: &str) -> Result<String, String> {
    regex::bytes::Regex::new(re)
        .map(|_| re.to_string())
        .map_err(|e| e.to_string())
}

/// A Redis type name.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TypeArg {
    /// Strings.
    String,
    /// Lists.
    List,
    /// Sets.
    Set,
    /// Sorted sets.
    Zset,
    /// Hashes.
    Hash,
    /// Streams.
    Stream,
    /// Module values.
    Module,
}

impl From<TypeArg> for Type {
    fn from(t: TypeArg) -> Type {
        match t {
            TypeArg::String => Type::String,
            TypeArg::List => Type::List,
            TypeArg::Set => Type::Set,
            TypeArg::Zset => Type::ZSet,
            TypeArg::Hash => Type::Hash,
            TypeArg::Stream => Type::Stream,
            TypeArg::Module => Type::Module,
        }
    }
}

impl FilterArgs {
    /// The filters as given, for manifests.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "db": self.dbs,
            "key": self.key_glob,
            "key_regex": self.key_regex,
            "type": self.types.iter().map(|t| format!("{t:?}").to_lowercase()).collect::<Vec<_>>(),
            "expiry": format!("{:?}", self.expiry),
            "min_size": self.min_size,
        })
    }

    /// The pipeline filter these flags describe.
    pub fn to_filter(&self) -> Result<Filter> {
        let key_regex = match &self.key_regex {
            Some(re) => {
                Some(regex::bytes::Regex::new(re).with_context(|| format!("--key-regex {re:?}"))?)
            }
            None => None,
        };
        Ok(Filter {
            dbs: self.dbs.clone(),
            key_glob: self.key_glob.as_ref().map(|g| g.as_bytes().to_vec()),
            key_regex,
            types: self.types.iter().map(|&t| t.into()).collect(),
            expiry: self.expiry,
            min_size: self.min_size,
        })
    }
}
