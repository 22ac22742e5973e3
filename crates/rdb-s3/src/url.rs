//! `s3://bucket/key` URLs: one object, every object under a prefix (`s3://b/dir/`), or every
//! object whose name matches a `*` glob (`s3://b/dir/name-*.rdb`). Bucket names are checked
//! here, before any request, so a typo costs no round trip.

use std::fmt;
use std::net::Ipv4Addr;

use crate::error::S3Error;

/// What an `s3://` URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// One object.
    Object,
    /// Every object whose key starts with the key (which ends with `/`, or is empty).
    Prefix,
    /// Every object under the key's directory whose name matches the glob (`*` = any run
    /// of characters, `?` = one character).
    Glob,
}

/// A parsed `s3://bucket/key` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Url {
    /// The bucket, validated against S3's naming rules.
    pub bucket: String,
    /// The key, prefix or glob, without the leading `/`.
    pub key: String,
    /// What the key means.
    pub target: Target,
}

impl S3Url {
    /// Whether `s` is meant as an S3 URL (it starts with `s3://`).
    pub fn is_s3(s: &str) -> bool {
        s.starts_with("s3://")
    }

    /// Parses `s3://bucket/key`. A key ending in `/` (or no key) is a prefix; a key whose
    /// last segment holds `*` or `?` is a glob.
    pub fn parse(s: &str) -> Result<S3Url, S3Error> {
        let invalid = |reason: &str| S3Error::InvalidUrl {
            url: s.to_string(),
            reason: reason.to_string(),
        };
        let rest = s
            .strip_prefix("s3://")
            .ok_or_else(|| invalid("expected s3://bucket/key"))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        validate_bucket(bucket)?;
        let (dir, name) = key.rsplit_once('/').unwrap_or(("", key));
        if dir.contains(['*', '?']) {
            return Err(invalid("a glob may only be in the last path segment"));
        }
        let target = if key.is_empty() || key.ends_with('/') {
            Target::Prefix
        } else if name.contains(['*', '?']) {
            Target::Glob
        } else {
            Target::Object
        };
        Ok(S3Url {
            bucket: bucket.to_string(),
            key: key.to_string(),
            target,
        })
    }

    /// The fixed part of the key to list under: the key of a prefix, the directory of a glob.
    pub fn list_prefix(&self) -> &str {
        match self.target {
            Target::Object | Target::Prefix => &self.key,
            Target::Glob => match self.key.rfind('/') {
                Some(i) => &self.key[..=i],
                None => "",
            },
        }
    }

    /// Whether an object key is selected by this URL (for a prefix or a glob).
    pub fn matches(&self, key: &str) -> bool {
        match self.target {
            Target::Object => key == self.key,
            Target::Prefix => key.starts_with(&self.key),
            Target::Glob => {
                let dir = self.list_prefix();
                match key.strip_prefix(dir) {
                    // The glob names files in that directory, not in its subdirectories.
                    Some(name) if !name.contains('/') => {
                        glob_match(&self.key.as_bytes()[dir.len()..], name.as_bytes())
                    }
                    _ => false,
                }
            }
        }
    }

    /// The URL of another key in the same bucket.
    pub fn with_key(&self, key: impl Into<String>) -> S3Url {
        S3Url {
            bucket: self.bucket.clone(),
            key: key.into(),
            target: Target::Object,
        }
    }

    /// The key under this URL's prefix for a relative path (`a/b.parquet`); for an object
    /// URL the key is taken as a directory.
    pub fn join(&self, relative: &str) -> S3Url {
        let mut key = self.key.clone();
        if !key.is_empty() && !key.ends_with('/') {
            key.push('/');
        }
        key.push_str(relative);
        self.with_key(key)
    }
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// `*` and `?` over bytes, iteratively (no backtracking blow-up).
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Checks S3's rules for bucket names (general purpose buckets): 3 to 63 characters; lower
/// case letters, digits, dots and hyphens; starts and ends with a letter or digit; no two
/// adjacent dots; not formatted as an IP address. The error quotes the rule broken.
pub fn validate_bucket(bucket: &str) -> Result<(), S3Error> {
    let broken = |rule: &str| {
        Err(S3Error::InvalidBucket {
            bucket: bucket.to_string(),
            rule: rule.to_string(),
        })
    };
    if bucket.is_empty() {
        return broken("a bucket name is required (s3://bucket/key)");
    }
    if bucket.len() < 3 || bucket.len() > 63 {
        return broken("bucket names must be between 3 and 63 characters long");
    }
    if !bucket
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
    {
        return broken(
            "bucket names can consist only of lowercase letters, numbers, dots (.) and hyphens (-)",
        );
    }
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bytes = bucket.as_bytes();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return broken("bucket names must begin and end with a letter or number");
    }
    if bucket.contains("..") {
        return broken("bucket names must not contain two adjacent periods");
    }
    if bucket.parse::<Ipv4Addr>().is_ok() {
        return broken(
            "bucket names must not be formatted as an IP address (for example, 192.168.5.4)",
        );
    }
    Ok(())
}

/// The shard number at the end of a key's file name (`name-0010.rdb` → 10), to order shard
/// files numerically rather than as text.
pub fn shard_number(key: &str) -> Option<u64> {
    let name = key.rsplit('/').next().unwrap_or(key);
    let stem = name.split('.').next().unwrap_or(name);
    let digits = stem.len() - stem.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    stem[stem.len() - digits..].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_objects_prefixes_and_globs() {
        let u = S3Url::parse("s3://my-bucket/backups/dump.rdb").unwrap();
        assert_eq!(
            (u.bucket.as_str(), u.key.as_str(), &u.target),
            ("my-bucket", "backups/dump.rdb", &Target::Object)
        );
        assert_eq!(u.to_string(), "s3://my-bucket/backups/dump.rdb");
        let p = S3Url::parse("s3://my-bucket/backups/").unwrap();
        assert_eq!(p.target, Target::Prefix);
        assert!(p.matches("backups/x.rdb"));
        assert!(!p.matches("other/x.rdb"));
        assert_eq!(
            S3Url::parse("s3://my-bucket").unwrap().target,
            Target::Prefix
        );
        let g = S3Url::parse("s3://my-bucket/backups/name-*.rdb").unwrap();
        assert_eq!(g.target, Target::Glob);
        assert_eq!(g.list_prefix(), "backups/");
        assert!(g.matches("backups/name-0001.rdb"));
        assert!(!g.matches("backups/name-0001.rdb.tmp"));
        assert!(!g.matches("backups/sub/name-0001.rdb"));
        assert!(!g.matches("name-0001.rdb"));
        assert!(S3Url::parse("s3://b*/x").is_err());
        assert!(S3Url::parse("s3://bucket/a*/x.rdb").is_err());
        assert!(S3Url::parse("http://bucket/x").is_err());
        assert_eq!(p.join("keys/a.parquet").key, "backups/keys/a.parquet");
        assert_eq!(u.join("x").key, "backups/dump.rdb/x");
    }

    #[test]
    fn glob() {
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"a*b*c", b"axxbyyc"));
        assert!(!glob_match(b"a*b*c", b"axxbyy"));
        assert!(glob_match(b"n?me-*.rdb", b"name-12.rdb"));
        assert!(!glob_match(b"name", b"names"));
    }

    #[test]
    fn bucket_rules() {
        for ok in ["abc", "my.bucket-1", "a".repeat(63).as_str(), "1bucket"] {
            validate_bucket(ok).unwrap();
        }
        let rule = |b: &str| match validate_bucket(b) {
            Err(S3Error::InvalidBucket { rule, .. }) => rule,
            other => panic!("{b}: {other:?}"),
        };
        assert!(rule("ab").contains("between 3 and 63"));
        assert!(rule(&"a".repeat(64)).contains("between 3 and 63"));
        assert!(rule("My_Bucket").contains("lowercase letters"));
        assert!(rule("-bucket").contains("begin and end"));
        assert!(rule("bucket.").contains("begin and end"));
        assert!(rule("my..bucket").contains("two adjacent periods"));
        assert!(rule("192.168.5.4").contains("IP address"));
        assert!(rule("").contains("required"));
    }

    #[test]
    fn shard_numbers() {
        assert_eq!(shard_number("p/name-0010.rdb"), Some(10));
        assert_eq!(shard_number("name-2.rdb"), Some(2));
        assert_eq!(shard_number("dump.rdb"), None);
        assert_eq!(shard_number("x/99"), Some(99));
    }
}
