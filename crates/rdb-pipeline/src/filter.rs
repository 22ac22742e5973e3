//! Filters shared by every sink: database, key glob or regex, type, expiry, size, and their
//! exclusions (`not_*`). They look only at a record's metadata and key, so a filtered-out
//! value is never decoded.

use rdb_format::{Record, Scratch, Type};

/// Which keys to keep, by expiry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpiryFilter {
    /// Every key.
    #[default]
    Any,
    /// Keys without an expiry.
    None,
    /// Keys with an expiry.
    Set,
    /// Keys whose expiry is at or before this unix ms (already expired at that time).
    ExpiredAtOrBefore(i64),
    /// Keys still live at this unix ms: no expiry, or one after it (the complement of
    /// [`ExpiryFilter::ExpiredAtOrBefore`]).
    LiveAt(i64),
}

/// The form [`ExpiryFilter::from_str`](std::str::FromStr) reads (`any`, `live-at:MS`, ...):
/// what an export's manifest records.
impl std::fmt::Display for ExpiryFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpiryFilter::Any => f.write_str("any"),
            ExpiryFilter::None => f.write_str("none"),
            ExpiryFilter::Set => f.write_str("set"),
            ExpiryFilter::ExpiredAtOrBefore(ms) => write!(f, "expired-at-or-before:{ms}"),
            ExpiryFilter::LiveAt(ms) => write!(f, "live-at:{ms}"),
        }
    }
}

impl std::str::FromStr for ExpiryFilter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "any" => Ok(ExpiryFilter::Any),
            "none" => Ok(ExpiryFilter::None),
            "set" => Ok(ExpiryFilter::Set),
            _ => {
                let (make, ms): (fn(i64) -> ExpiryFilter, &str) =
                    if let Some(ms) = s.strip_prefix("expired-at-or-before:") {
                        (ExpiryFilter::ExpiredAtOrBefore, ms)
                    } else if let Some(ms) = s.strip_prefix("live-at:") {
                        (ExpiryFilter::LiveAt, ms)
                    } else {
                        return Err(format!(
                            "expected any, none, set, live-at:MS or expired-at-or-before:MS, \
                             got {s:?}"
                        ));
                    };
                ms.parse()
                    .map(make)
                    .map_err(|_| format!("not a unix time in milliseconds: {ms:?}"))
            }
        }
    }
}

/// A set of conditions a record must all meet. The default keeps everything.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Keep these databases (empty: all).
    pub dbs: Vec<u64>,
    /// Keep keys matching this Redis glob (`SCAN MATCH` syntax).
    pub key_glob: Option<Vec<u8>>,
    /// Keep keys matching this regular expression.
    pub key_regex: Option<regex::bytes::Regex>,
    /// Keep these types (empty: all).
    pub types: Vec<Type>,
    /// Keep by expiry.
    pub expiry: ExpiryFilter,
    /// Keep records whose serialized size is at least this many bytes.
    pub min_size: Option<u64>,
    /// Drop these databases.
    pub not_dbs: Vec<u64>,
    /// Drop keys matching any of these Redis globs.
    pub not_key_globs: Vec<Vec<u8>>,
    /// Drop keys matching any of these regular expressions.
    pub not_key_regexes: Vec<regex::bytes::Regex>,
    /// Drop these types.
    pub not_types: Vec<Type>,
}

impl Filter {
    /// Whether the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty()
            && self.key_glob.is_none()
            && self.key_regex.is_none()
            && self.types.is_empty()
            && self.expiry == ExpiryFilter::Any
            && self.min_size.is_none()
            && self.not_dbs.is_empty()
            && self.not_key_globs.is_empty()
            && self.not_key_regexes.is_empty()
            && self.not_types.is_empty()
    }

    /// Whether the filter needs the key's bytes (glob or regex).
    pub fn needs_key(&self) -> bool {
        self.key_glob.is_some()
            || self.key_regex.is_some()
            || !self.not_key_globs.is_empty()
            || !self.not_key_regexes.is_empty()
    }

    /// Checks everything but the key.
    pub fn matches_metadata(&self, r: &Record<'_>) -> bool {
        (self.dbs.is_empty() || self.dbs.contains(&r.db))
            && (self.types.is_empty() || self.types.contains(&r.data_type()))
            && self.min_size.is_none_or(|min| r.len >= min)
            && !self.not_dbs.contains(&r.db)
            && !self.not_types.contains(&r.data_type())
            && match self.expiry {
                ExpiryFilter::Any => true,
                ExpiryFilter::None => r.expire_ms.is_none(),
                ExpiryFilter::Set => r.expire_ms.is_some(),
                ExpiryFilter::ExpiredAtOrBefore(t) => r.expire_ms.is_some_and(|e| e <= t),
                ExpiryFilter::LiveAt(t) => r.expire_ms.is_none_or(|e| e > t),
            }
    }

    /// Checks the key (decoded bytes).
    pub fn matches_key(&self, key: &[u8]) -> bool {
        self.key_glob.as_deref().is_none_or(|g| glob_match(g, key))
            && self.key_regex.as_ref().is_none_or(|re| re.is_match(key))
            && !self.not_key_globs.iter().any(|g| glob_match(g, key))
            && !self.not_key_regexes.iter().any(|re| re.is_match(key))
    }

    /// Whether the filter keeps `r`: its metadata first, then, when the filter looks at keys,
    /// its key, decoded into `key` (cleared first) with `scratch`. `key` is left empty when
    /// the filter does not need it.
    pub fn keep(
        &self,
        r: &Record<'_>,
        scratch: &Scratch,
        key: &mut Vec<u8>,
    ) -> rdb_format::Result<bool> {
        key.clear();
        if !self.matches_metadata(r) {
            return Ok(false);
        }
        if !self.needs_key() {
            return Ok(true);
        }
        r.key.decode(scratch)?.write_to(key);
        Ok(self.matches_key(key))
    }
}

/// Redis's glob (`KEYS`, `SCAN MATCH`): `*`, `?`, `[abc]`, `[^a-z]`, `\x` escapes.
/// Linear backtracking to the last `*`, so no pattern can take exponential time.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    star = Some((p, t));
                    continue;
                }
                b'?' => {
                    p += 1;
                    t += 1;
                    continue;
                }
                b'[' => {
                    let (matched, next) = class_match(pattern, p + 1, text[t]);
                    if matched {
                        p = next;
                        t += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pattern.len() => {
                    if pattern[p + 1] == text[t] {
                        p += 2;
                        t += 1;
                        continue;
                    }
                }
                c => {
                    if c == text[t] {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, st)) => {
                p = sp;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the class starting at `start` (after `[`); returns the match and the
/// pattern index after the closing `]`.
fn class_match(pattern: &[u8], start: usize, c: u8) -> (bool, usize) {
    let mut i = start;
    let negate = pattern.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    while i < pattern.len() && pattern[i] != b']' {
        if pattern[i] == b'\\' && i + 1 < pattern.len() {
            matched |= pattern[i + 1] == c;
            i += 2;
        } else if i + 2 < pattern.len() && pattern[i + 1] == b'-' && pattern[i + 2] != b']' {
            let (a, b) = (
                pattern[i].min(pattern[i + 2]),
                pattern[i].max(pattern[i + 2]),
            );
            matched |= (a..=b).contains(&c);
            i += 3;
        } else {
            matched |= pattern[i] == c;
            i += 1;
        }
    }
    // Like Redis, an unterminated class ends at the end of the pattern.
    let next = if i < pattern.len() { i + 1 } else { i };
    (matched != negate, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_filters_display_as_they_parse() {
        for f in [
            ExpiryFilter::Any,
            ExpiryFilter::None,
            ExpiryFilter::Set,
            ExpiryFilter::ExpiredAtOrBefore(5),
            ExpiryFilter::LiveAt(1_795_860_000_000),
        ] {
            assert_eq!(f.to_string().parse::<ExpiryFilter>(), Ok(f));
        }
        assert_eq!(ExpiryFilter::LiveAt(7).to_string(), "live-at:7");
    }

    #[test]
    fn globs() {
        let yes = [
            ("*", "anything"),
            ("user:*", "user:1"),
            ("user:*:cart", "user:12:cart"),
            ("h?llo", "hello"),
            ("h[ae]llo", "hallo"),
            ("h[^e]llo", "hallo"),
            ("h[a-b]llo", "hbllo"),
            ("h[b-a]llo", "hbllo"),
            ("h\\*llo", "h*llo"),
            ("*a*b*c", "xxaxxbxxc"),
            ("", ""),
        ];
        for (p, t) in yes {
            assert!(glob_match(p.as_bytes(), t.as_bytes()), "{p} ~ {t}");
        }
        let no = [
            ("user:*", "session:1"),
            ("h?llo", "hllo"),
            ("h[^e]llo", "hello"),
            ("h\\*llo", "hello"),
            ("a", ""),
        ];
        for (p, t) in no {
            assert!(!glob_match(p.as_bytes(), t.as_bytes()), "{p} !~ {t}");
        }
        // Pathological patterns stay linear-ish.
        let text = vec![b'a'; 5000];
        let pattern = b"*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!glob_match(pattern, &text));
    }

    #[test]
    fn expiry_filters_parse() {
        assert_eq!("set".parse(), Ok(ExpiryFilter::Set));
        assert_eq!(
            "expired-at-or-before:1700000000000".parse(),
            Ok(ExpiryFilter::ExpiredAtOrBefore(1700000000000))
        );
        assert!("soon".parse::<ExpiryFilter>().is_err());
        assert_eq!("live-at:5".parse(), Ok(ExpiryFilter::LiveAt(5)));
        assert!("live-at:".parse::<ExpiryFilter>().is_err());
    }

    #[test]
    fn exclusions_drop_what_they_match() {
        let f = Filter {
            not_key_globs: vec![b"tmp:*".to_vec(), b"cache:*".to_vec()],
            not_key_regexes: vec![regex::bytes::Regex::new("^lock").unwrap()],
            ..Filter::default()
        };
        assert!(f.needs_key());
        assert!(!f.is_empty());
        assert!(f.matches_key(b"user:1"));
        assert!(!f.matches_key(b"tmp:1"));
        assert!(!f.matches_key(b"cache:x"));
        assert!(!f.matches_key(b"lock:9"));
        let both = Filter {
            key_glob: Some(b"user:*".to_vec()),
            not_key_globs: vec![b"user:admin*".to_vec()],
            ..Filter::default()
        };
        assert!(both.matches_key(b"user:1"));
        assert!(!both.matches_key(b"user:admin"));
        assert!(!both.matches_key(b"post:1"));
    }
}
