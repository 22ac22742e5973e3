//! Where to connect and as whom, resolved the way the AWS CLI does: flags, then the
//! environment, then the profile in `~/.aws/credentials` and `~/.aws/config`.
//!
//! Static keys (with an optional session token) and the region are read from profiles.
//! SSO, `role_arn` (assume-role) and `credential_process` profiles are not supported; they
//! are reported as such rather than silently ignored. With no keys anywhere, object_store's
//! own chain is used (web identity token, ECS container credentials, EC2 instance metadata).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::S3Error;

/// Connection settings given by the user (flags); unset fields come from the environment.
#[derive(Clone, Debug, Default)]
pub struct S3Config {
    /// `--region`.
    pub region: Option<String>,
    /// `--endpoint-url` (MinIO, Ceph, moto...): requests go there instead of AWS.
    pub endpoint_url: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`); default: on when an endpoint is set.
    pub force_path_style: Option<bool>,
    /// `--no-sign-request`: anonymous requests, for public buckets.
    pub no_sign_request: bool,
    /// `--profile`.
    pub profile: Option<String>,
}

/// Static credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token (temporary credentials).
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    // Never print the secret or the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The settings a client is built from, after resolution.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Region to sign for.
    pub region: String,
    /// Whether the region was given (flag, environment, profile) rather than defaulted.
    pub region_given: bool,
    /// Endpoint, if not AWS.
    pub endpoint_url: Option<String>,
    /// Path-style requests.
    pub path_style: bool,
    /// Anonymous requests.
    pub no_sign_request: bool,
    /// Static keys, if any were found; else object_store's chain.
    pub credentials: Option<Credentials>,
}

/// The environment variables and files the resolution reads; a parameter so that tests
/// need not touch the process environment.
pub trait Env {
    /// A variable's value, if set and not empty.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Clone, Copy, Debug)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).cloned()
    }
}

impl S3Config {
    /// Resolves the settings: flag > environment > profile > default (`us-east-1`).
    pub fn resolve(&self, env: &dyn Env) -> Result<Resolved, S3Error> {
        let explicit_profile = self.profile.clone();
        let profile_name = explicit_profile
            .clone()
            .or_else(|| env.var("AWS_PROFILE"))
            .unwrap_or_else(|| "default".to_string());
        let home = env.var("HOME").map(PathBuf::from);
        let aws_file = |var: &str, name: &str| {
            env.var(var)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
        };
        let credentials_file = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
        let config_file = aws_file("AWS_CONFIG_FILE", "config");
        let profile = Profile::load(
            &profile_name,
            credentials_file.as_deref(),
            config_file.as_deref(),
        )?;
        if explicit_profile.is_some() && profile.is_none() {
            return Err(S3Error::Config(format!(
                "profile {profile_name:?} not found in {} or {}",
                show(credentials_file.as_deref()),
                show(config_file.as_deref())
            )));
        }
        let profile = profile.unwrap_or_default();

        let env_keys = match (
            env.var("AWS_ACCESS_KEY_ID"),
            env.var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Some(id), Some(secret)) => Some(Credentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: env.var("AWS_SESSION_TOKEN"),
            }),
            _ => None,
        };
        // As in the AWS CLI, an explicit --profile wins over keys in the environment.
        let credentials = if explicit_profile.is_some() {
            profile.credentials.clone().or(env_keys)
        } else {
            env_keys.or_else(|| profile.credentials.clone())
        };
        if credentials.is_none() && !self.no_sign_request {
            if let Some(what) = &profile.unsupported {
                return Err(S3Error::Config(format!(
                    "profile {profile_name:?} uses {what}, which rdb-convert does not support: \
                     export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN \
                     (e.g. from `aws configure export-credentials --format env`)"
                )));
            }
        }
        let given_region = self
            .region
            .clone()
            .or_else(|| env.var("AWS_REGION"))
            .or_else(|| env.var("AWS_DEFAULT_REGION"))
            .or_else(|| profile.region.clone());
        let endpoint_url = self
            .endpoint_url
            .clone()
            .or_else(|| env.var("AWS_ENDPOINT_URL_S3"))
            .or_else(|| env.var("AWS_ENDPOINT_URL"))
            .or_else(|| profile.endpoint_url.clone())
            .map(|e| e.trim_end_matches('/').to_string());
        Ok(Resolved {
            region_given: given_region.is_some(),
            region: given_region.unwrap_or_else(|| "us-east-1".to_string()),
            path_style: self.force_path_style.unwrap_or(endpoint_url.is_some()),
            endpoint_url,
            no_sign_request: self.no_sign_request,
            credentials,
        })
    }
}

fn show(p: Option<&Path>) -> String {
    p.map(|p| p.display().to_string())
        .unwrap_or_else(|| "~/.aws (HOME not set)".to_string())
}

/// What a profile says, merged from the credentials file and the config file.
#[derive(Clone, Debug, Default)]
struct Profile {
    credentials: Option<Credentials>,
    region: Option<String>,
    endpoint_url: Option<String>,
    /// A credential source we do not implement (SSO, assume-role, credential_process).
    unsupported: Option<String>,
}

impl Profile {
    /// `None` when neither file has the profile.
    fn load(
        name: &str,
        credentials_file: Option<&Path>,
        config_file: Option<&Path>,
    ) -> Result<Option<Profile>, S3Error> {
        let read = |p: Option<&Path>| -> Result<Option<String>, S3Error> {
            let Some(p) = p else { return Ok(None) };
            match std::fs::read_to_string(p) {
                Ok(t) => Ok(Some(t)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(S3Error::Io {
                    path: p.to_path_buf(),
                    source: e,
                }),
            }
        };
        // The credentials file names sections `[name]`; the config file `[profile name]`,
        // except `[default]`.
        let creds = read(credentials_file)?
            .and_then(|t| parse_ini(&t).remove(name))
            .map(|s| (s, false));
        let config_section = if name == "default" {
            "default".to_string()
        } else {
            format!("profile {name}")
        };
        let config = read(config_file)?.and_then(|t| {
            let mut ini = parse_ini(&t);
            ini.remove(&config_section)
        });
        if creds.is_none() && config.is_none() {
            return Ok(None);
        }
        let mut merged: HashMap<String, String> = config.unwrap_or_default();
        if let Some((c, _)) = creds {
            // The credentials file wins for keys both define.
            merged.extend(c);
        }
        let get = |k: &str| merged.get(k).filter(|v| !v.is_empty()).cloned();
        let credentials = match (get("aws_access_key_id"), get("aws_secret_access_key")) {
            (Some(id), Some(secret)) => Some(Credentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: get("aws_session_token"),
            }),
            _ => None,
        };
        let unsupported = if get("sso_start_url").is_some() || get("sso_session").is_some() {
            Some("AWS IAM Identity Center (SSO)".to_string())
        } else if get("role_arn").is_some() {
            Some("role_arn (assume-role)".to_string())
        } else if get("credential_process").is_some() {
            Some("credential_process".to_string())
        } else {
            None
        };
        Ok(Some(Profile {
            credentials,
            region: get("region"),
            endpoint_url: get("endpoint_url"),
            unsupported,
        }))
    }
}

/// Sections of an AWS INI file: `[name]` headers, `key = value` lines, `#`/`;` comments.
/// Indented lines (nested settings such as `s3 =\n  max_concurrent_requests = 4`) belong to
/// the nested block and are skipped; keys are lower-cased as the AWS CLI treats them.
fn parse_ini(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut sections: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            sections.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        let (Some(section), Some((k, v))) = (&current, line.split_once('=')) else {
            continue;
        };
        sections
            .entry(section.clone())
            .or_default()
            .insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(dir: &Path, vars: &[(&str, &str)]) -> HashMap<String, String> {
        let mut m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        m.insert("HOME".into(), dir.display().to_string());
        m
    }

    /// A HOME with ~/.aws files, removed when dropped.
    struct Home(PathBuf);

    impl std::ops::Deref for Home {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Home {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn home() -> Home {
        let d = std::env::temp_dir().join(format!(
            "rdb-s3-config-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(d.join(".aws")).unwrap();
        std::fs::write(
            d.join(".aws/credentials"),
            "[default]\naws_access_key_id = AKIDEFAULT\naws_secret_access_key = s1\n\n\
             [work]\naws_access_key_id=AKIWORK\naws_secret_access_key=s2\naws_session_token=t2\n\
             # comment\n",
        )
        .unwrap();
        std::fs::write(
            d.join(".aws/config"),
            "[default]\nregion = eu-west-1\ns3 =\n  max_concurrent_requests = 4\n\
             [profile work]\nregion=ap-south-1\nendpoint_url = http://127.0.0.1:9000/\n\
             [profile sso]\nsso_start_url = https://x\nregion = us-west-2\n\
             [profile role]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n",
        )
        .unwrap();
        Home(d)
    }

    #[test]
    fn defaults_from_the_default_profile() {
        let h = home();
        let r = S3Config::default().resolve(&env(&h, &[])).unwrap();
        assert_eq!(r.region, "eu-west-1");
        assert!(r.region_given);
        assert_eq!(r.credentials.unwrap().access_key_id, "AKIDEFAULT");
        assert!(!r.path_style);
        assert_eq!(r.endpoint_url, None);
    }

    #[test]
    fn named_profile_and_precedence() {
        let h = home();
        let cfg = S3Config {
            profile: Some("work".into()),
            ..Default::default()
        };
        let e = env(
            &h,
            &[
                ("AWS_ACCESS_KEY_ID", "AKIENV"),
                ("AWS_SECRET_ACCESS_KEY", "x"),
            ],
        );
        let r = cfg.resolve(&e).unwrap();
        // --profile wins over keys in the environment.
        let c = r.credentials.unwrap();
        assert_eq!(c.access_key_id, "AKIWORK");
        assert_eq!(c.session_token.as_deref(), Some("t2"));
        assert_eq!(r.region, "ap-south-1");
        assert_eq!(r.endpoint_url.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(r.path_style);
        // Without --profile, environment keys win; AWS_PROFILE picks the profile.
        let e = env(
            &h,
            &[
                ("AWS_ACCESS_KEY_ID", "AKIENV"),
                ("AWS_SECRET_ACCESS_KEY", "x"),
                ("AWS_PROFILE", "work"),
                ("AWS_REGION", "us-east-2"),
            ],
        );
        let r = S3Config::default().resolve(&e).unwrap();
        assert_eq!(r.credentials.unwrap().access_key_id, "AKIENV");
        assert_eq!(r.region, "us-east-2");
        let r = S3Config {
            region: Some("sa-east-1".into()),
            ..Default::default()
        }
        .resolve(&e)
        .unwrap();
        assert_eq!(r.region, "sa-east-1");
    }

    #[test]
    fn missing_and_unsupported_profiles() {
        let h = home();
        let with = |p: &str| S3Config {
            profile: Some(p.into()),
            ..Default::default()
        };
        let err = with("nope").resolve(&env(&h, &[])).unwrap_err().to_string();
        assert!(err.contains("profile \"nope\" not found"), "{err}");
        let err = with("sso").resolve(&env(&h, &[])).unwrap_err().to_string();
        assert!(err.contains("SSO"), "{err}");
        let err = with("role").resolve(&env(&h, &[])).unwrap_err().to_string();
        assert!(err.contains("assume-role"), "{err}");
        // No home files at all: default region, no keys (object_store's chain decides).
        let empty = std::env::temp_dir().join("rdb-s3-config-empty-home");
        let r = S3Config::default().resolve(&env(&empty, &[])).unwrap();
        assert_eq!(r.region, "us-east-1");
        assert!(!r.region_given);
        assert!(r.credentials.is_none());
    }

    #[test]
    fn credentials_never_show_the_secret() {
        let c = Credentials {
            access_key_id: "AKI".into(),
            secret_access_key: "very-secret".into(),
            session_token: Some("tok".into()),
        };
        let s = format!("{c:?}");
        assert!(!s.contains("very-secret") && !s.contains("tok"), "{s}");
    }
}
