//! The filter flags every command shares, mapped to [`rdb_pipeline::filter::Filter`].

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use rdb_format::Type;
use rdb_pipeline::filter::{ExpiryFilter, Filter};

/// Which keys to process. Filters run before a value is decoded; a key must pass every
/// filter given, and is dropped if it matches any `--not-*` one.
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

    /// Only this type (repeatable; sortedset is accepted for zset).
    #[arg(long = "type", value_name = "TYPE", value_enum)]
    pub types: Vec<TypeArg>,

    /// Keys by expiry: any, none, set, live-at:T (no expiry, or one after T) or
    /// expired-at-or-before:T; T is unix ms, ISO-8601 (2026-11-28T10:00:00Z) or now.
    #[arg(long, value_name = "WHICH", default_value = "any", value_parser = parse_expiry)]
    pub expiry: ExpiryFilter,

    /// Only keys whose serialized record is at least this many bytes.
    #[arg(long, value_name = "BYTES")]
    pub min_size: Option<u64>,

    /// Skip this database (repeatable), e.g. --not-db 15.
    #[arg(long = "not-db", value_name = "N")]
    pub not_dbs: Vec<u64>,

    /// Skip keys matching this glob (repeatable), e.g. --not-key 'tmp:*'.
    #[arg(long = "not-key", value_name = "GLOB")]
    pub not_key_globs: Vec<String>,

    /// Skip keys matching this regular expression (repeatable), e.g. --not-key-regex '^lock:'.
    #[arg(long = "not-key-regex", value_name = "RE", value_parser = valid_regex)]
    pub not_key_regexes: Vec<String>,

    /// Skip this type (repeatable), e.g. --not-type stream.
    #[arg(long = "not-type", value_name = "TYPE", value_enum)]
    pub not_types: Vec<TypeArg>,
}

/// Checks the expression when the flags are parsed, so a bad one is a usage error (exit 2).
fn valid_regex(re: &str) -> Result<String, String> {
    regex::bytes::Regex::new(re)
        .map(|_| re.to_string())
        .map_err(|e| e.to_string())
}

/// `--expiry`: the library's forms, with the time of `live-at:` and `expired-at-or-before:`
/// also as ISO-8601 or `now`.
fn parse_expiry(s: &str) -> Result<ExpiryFilter, String> {
    for (prefix, make) in [
        ("live-at:", ExpiryFilter::LiveAt as fn(i64) -> ExpiryFilter),
        ("expired-at-or-before:", ExpiryFilter::ExpiredAtOrBefore),
    ] {
        if let Some(t) = s.strip_prefix(prefix) {
            return parse_time_ms(t).map(make);
        }
    }
    s.parse()
}

/// A point in time as unix ms: digits (unix ms), `now`, an RFC 3339 / ISO-8601 time with
/// a zone (`2026-11-28T10:00:00Z`, `2026-11-28T12:00:00+02:00`), or a date (midnight UTC).
pub fn parse_time_ms(t: &str) -> Result<i64, String> {
    if t == "now" {
        return Ok(rdb_pipeline::now_ms());
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse()
            .map_err(|_| format!("unix time in ms out of range: {t:?}"));
    }
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(time.timestamp_millis());
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        if let Some(midnight) = date.and_hms_opt(0, 0, 0) {
            return Ok(midnight.and_utc().timestamp_millis());
        }
    }
    if chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").is_ok() {
        return Err(format!(
            "{t:?} has no time zone: add Z for UTC (e.g. {t}Z) or an offset such as +02:00"
        ));
    }
    Err(format!(
        "expected unix ms, now, or an ISO-8601 time such as 2026-11-28T10:00:00Z, got {t:?}"
    ))
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
    /// Sorted sets (also sortedset, redis-rdb-tools' name).
    #[value(alias = "sortedset")]
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

#[cfg(feature = "parquet")]
fn type_names(types: &[TypeArg]) -> Vec<String> {
    types
        .iter()
        .map(|t| format!("{t:?}").to_lowercase())
        .collect()
}

impl FilterArgs {
    /// The filters as given, for manifests. The exclusions appear only when given, so a
    /// manifest without them reads as before.
    #[cfg(feature = "parquet")]
    pub fn describe(&self) -> serde_json::Value {
        let mut described = serde_json::json!({
            "db": self.dbs,
            "key": self.key_glob,
            "key_regex": self.key_regex,
            "type": type_names(&self.types),
            "expiry": self.expiry.to_string(),
            "min_size": self.min_size,
        });
        let exclusions = [
            (
                "not_db",
                serde_json::json!(self.not_dbs),
                self.not_dbs.is_empty(),
            ),
            (
                "not_key",
                serde_json::json!(self.not_key_globs),
                self.not_key_globs.is_empty(),
            ),
            (
                "not_key_regex",
                serde_json::json!(self.not_key_regexes),
                self.not_key_regexes.is_empty(),
            ),
            (
                "not_type",
                serde_json::json!(type_names(&self.not_types)),
                self.not_types.is_empty(),
            ),
        ];
        if let Some(map) = described.as_object_mut() {
            for (name, value, empty) in exclusions {
                if !empty {
                    map.insert(name.into(), value);
                }
            }
        }
        described
    }

    /// The pipeline filter these flags describe.
    pub fn to_filter(&self) -> Result<Filter> {
        let key_regex = match &self.key_regex {
            Some(re) => Some(compile(re, "--key-regex")?),
            None => None,
        };
        let not_key_regexes = self
            .not_key_regexes
            .iter()
            .map(|re| compile(re, "--not-key-regex"))
            .collect::<Result<_>>()?;
        Ok(Filter {
            dbs: self.dbs.clone(),
            key_glob: self.key_glob.as_ref().map(|g| g.as_bytes().to_vec()),
            key_regex,
            types: self.types.iter().map(|&t| t.into()).collect(),
            expiry: self.expiry,
            min_size: self.min_size,
            not_dbs: self.not_dbs.clone(),
            not_key_globs: self
                .not_key_globs
                .iter()
                .map(|g| g.as_bytes().to_vec())
                .collect(),
            not_key_regexes,
            not_types: self.not_types.iter().map(|&t| t.into()).collect(),
        })
    }
}

fn compile(re: &str, flag: &str) -> Result<regex::bytes::Regex> {
    regex::bytes::Regex::new(re).with_context(|| format!("{flag} {re:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time_ms("1700000000000"), Ok(1_700_000_000_000));
        assert_eq!(parse_time_ms("2026-11-28T10:00:00Z"), Ok(1_795_860_000_000));
        assert_eq!(
            parse_time_ms("2026-11-28T12:00:00.5+02:00"),
            Ok(1_795_860_000_500)
        );
        assert_eq!(parse_time_ms("2026-11-28"), Ok(1_795_824_000_000));
        assert!(parse_time_ms("now").is_ok_and(|t| t > 1_700_000_000_000));
        assert!(parse_time_ms("2026-11-28T10:00:00").is_err_and(|e| e.contains("time zone")));
        assert!(parse_time_ms("tomorrow").is_err());
        assert!(parse_time_ms("").is_err());
        assert!(parse_time_ms("99999999999999999999").is_err());
    }

    #[test]
    fn expiry_forms() {
        assert_eq!(parse_expiry("none"), Ok(ExpiryFilter::None));
        assert_eq!(
            parse_expiry("live-at:2026-11-28T10:00:00Z"),
            Ok(ExpiryFilter::LiveAt(1_795_860_000_000))
        );
        assert_eq!(
            parse_expiry("expired-at-or-before:5"),
            Ok(ExpiryFilter::ExpiredAtOrBefore(5))
        );
        assert!(parse_expiry("live-at:soon").is_err());
        assert!(parse_expiry("later").is_err());
    }
}
