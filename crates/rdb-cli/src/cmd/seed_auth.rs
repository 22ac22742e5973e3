//! `seed`'s credentials off the command line, like redis-cli: `--user`, `--password-file`
//! (`-` for stdin) and `REDISCLI_AUTH`, so that a password is not visible in `ps` or the
//! shell history. They are put into the target URL handed to the seeder, which never prints
//! a URL's password.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// The environment variable redis-cli reads a password from.
pub const AUTH_VAR: &str = "REDISCLI_AUTH";

/// `target` with the credentials given by flags or the environment. `--user` and
/// `--password-file` replace those of the URL; `REDISCLI_AUTH` only fills in a password the
/// URL and flags lack.
pub fn target_with_credentials(
    target: &str,
    user: Option<&str>,
    password_file: Option<&Path>,
    env_password: Option<String>,
) -> Result<String> {
    let password = match password_file {
        Some(path) => Some(read_password(path)?),
        None => None,
    };
    if user.is_none() && password.is_none() && env_password.is_none() {
        return Ok(target.to_string());
    }
    let Some((scheme, rest)) = target.split_once("://") else {
        bail!(
            "--target must be a URL (redis://host:port or rediss://host:port) to use --user, \
             --password-file or {AUTH_VAR}"
        );
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((userinfo, host)) => (Some(userinfo), host),
        None => (None, authority),
    };
    let (url_user, url_password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((name, pw)) => (Some(name.to_string()), Some(pw.to_string())),
            None => (Some(u.to_string()), None),
        },
        None => (None, None),
    };
    let user = match user {
        Some(u) => Some(percent_encode(u)),
        None => url_user.filter(|u| !u.is_empty()),
    };
    let password = match password {
        Some(p) => Some(percent_encode(&p)),
        None => url_password
            .filter(|p| !p.is_empty())
            .or_else(|| env_password.map(|p| percent_encode(&p))),
    };
    let userinfo = match (user, password) {
        (Some(u), Some(p)) => format!("{u}:{p}@"),
        (None, Some(p)) => format!(":{p}@"),
        (Some(u), None) => format!("{u}@"),
        (None, None) => String::new(),
    };
    Ok(format!("{scheme}://{userinfo}{host}{tail}"))
}

/// The first line of `path` (`-`: standard input), without its line ending.
fn read_password(path: &Path) -> Result<String> {
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("--password-file -: cannot read the password from standard input")?;
    } else {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .with_context(|| format!("--password-file {}: cannot read it", path.display()))?;
    }
    let password = text.lines().next().unwrap_or("");
    if password.is_empty() {
        bail!(
            "--password-file {}: empty (the password is the file's first line)",
            path.display()
        );
    }
    Ok(password.to_string())
}

/// Every byte but the unreserved ones (RFC 3986) percent-encoded, so that any password fits
/// in a URL's user information.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_into_the_url() {
        let t = |target, user, env: Option<&str>| {
            target_with_credentials(target, user, None, env.map(str::to_string)).unwrap()
        };
        assert_eq!(t("redis://h:1", None, None), "redis://h:1");
        assert_eq!(
            t("redis://h:1/2", None, Some("p@s:s")),
            "redis://:p%40s%3As@h:1/2"
        );
        assert_eq!(
            t("redis://h:1", Some("al ice"), None),
            "redis://al%20ice@h:1"
        );
        // The URL's password wins over the environment; --user replaces the URL's user.
        assert_eq!(
            t("rediss://bob:pw@h:1", Some("alice"), Some("env")),
            "rediss://alice:pw@h:1"
        );
        assert!(target_with_credentials("h:1", Some("u"), None, None).is_err());
    }
}
