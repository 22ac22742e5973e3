//! Where to connect and as whom, resolved the way the AWS CLI does: flags, then the
//! environment, then the profile in `~/.aws/credentials` and `~/.aws/config`.
//!
//! Static keys (with an optional session token), the region and the endpoint are read from
//! profiles. Other credential sources (SSO, `role_arn` with `source_profile`,
//! `credential_process`, web identity, ECS, instance metadata) are left to `aws-config`, whose
//! provider object_store then asks (see `credentials.rs`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aws_config::profile::ProfileSet;

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
    /// Static keys, if any were found; else `aws-config` is asked (see [`S3Config::resolve`]).
    pub credentials: Option<Credentials>,
    /// The profile credentials are looked up in (`--profile`, `AWS_PROFILE` or `default`).
    pub profile: String,
    /// Whether the profile was named with `--profile` (then only that profile is used).
    pub profile_explicit: bool,
    /// What to do when no credentials come (for the error message).
    pub credential_hint: String,
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
    ///
    /// Profiles are read with `aws-config`'s parser. Static keys (environment, or a profile
    /// holding only keys) are used as they are; any other profile (SSO, `role_arn` with
    /// `source_profile`, `credential_process`, web identity) or no keys at all leaves
    /// `credentials` empty, and the client then asks `aws-config` for them.
    pub fn resolve(&self, env: &dyn Env) -> Result<Resolved, S3Error> {
        let explicit_profile = self.profile.clone();
        let profile_name = explicit_profile
            .clone()
            .or_else(|| env.var("AWS_PROFILE"))
            .unwrap_or_else(|| "default".to_string());
        let profiles = load_profiles(env, &profile_name)?;
        let profile = profiles.get_profile(&profile_name);
        if explicit_profile.is_some() && profile.is_none() {
            let home = env.var("HOME").map(PathBuf::from);
            let aws_file = |var: &str, name: &str| {
                env.var(var)
                    .map(PathBuf::from)
                    .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
            };
            return Err(S3Error::Config(format!(
                "profile {profile_name:?} not found in {} or {}",
                show(aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials").as_deref()),
                show(aws_file("AWS_CONFIG_FILE", "config").as_deref())
            )));
        }
        let get = |k: &str| {
            profile
                .and_then(|p| p.get(k))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let other_source = OTHER_SOURCES.iter().find(|(key, _)| get(key).is_some());
        let profile_keys = match (get("aws_access_key_id"), get("aws_secret_access_key")) {
            (Some(id), Some(secret)) if other_source.is_none() => Some(Credentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: get("aws_session_token"),
            }),
            _ => None,
        };

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
            profile_keys.or(if other_source.is_some() {
                None
            } else {
                env_keys
            })
        } else {
            env_keys.or(profile_keys)
        };
        let credential_hint = match other_source {
            Some((_, hint)) => hint.replace("{profile}", &profile_name),
            None if explicit_profile.is_some() => format!(
                "give profile {profile_name:?} aws_access_key_id/aws_secret_access_key, \
                 role_arn with source_profile, credential_process or sso_session"
            ),
            None => "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, pick a profile with \
                     --profile or AWS_PROFILE, or use --no-sign-request for a public bucket"
                .to_string(),
        };
        let given_region = self
            .region
            .clone()
            .or_else(|| env.var("AWS_REGION"))
            .or_else(|| env.var("AWS_DEFAULT_REGION"))
            .or_else(|| get("region"));
        let endpoint_url = self
            .endpoint_url
            .clone()
            .or_else(|| env.var("AWS_ENDPOINT_URL_S3"))
            .or_else(|| env.var("AWS_ENDPOINT_URL"))
            .or_else(|| get("endpoint_url"))
            .map(|e| e.trim_end_matches('/').to_string());
        Ok(Resolved {
            region_given: given_region.is_some(),
            region: given_region.unwrap_or_else(|| "us-east-1".to_string()),
            path_style: self.force_path_style.unwrap_or(endpoint_url.is_some()),
            endpoint_url,
            no_sign_request: self.no_sign_request,
            credentials,
            profile: profile_name,
            profile_explicit: explicit_profile.is_some(),
            credential_hint,
        })
    }
}

/// Profile settings that name a credential source other than static keys, and what to do
/// when that source gives nothing (`{profile}` is replaced by the profile's name).
const OTHER_SOURCES: &[(&str, &str)] = &[
    (
        "sso_session",
        "run `aws sso login --profile {profile}` (the SSO token may have expired)",
    ),
    (
        "sso_start_url",
        "run `aws sso login --profile {profile}` (the SSO token may have expired)",
    ),
    (
        "role_arn",
        "check role_arn and source_profile (or credential_source) of profile {profile}: the \
         source credentials must be allowed sts:AssumeRole on the role",
    ),
    (
        "credential_process",
        "run the credential_process of profile {profile} by hand to see its error; it must \
         print JSON with Version 1, AccessKeyId and SecretAccessKey",
    ),
    (
        "web_identity_token_file",
        "check web_identity_token_file and role_arn of profile {profile}",
    ),
];

/// `~/.aws/config` and `~/.aws/credentials` (or `AWS_CONFIG_FILE`,
/// `AWS_SHARED_CREDENTIALS_FILE`), parsed by `aws-config`; the files are looked up with the
/// variables of `env`.
fn load_profiles(env: &dyn Env, profile_name: &str) -> Result<ProfileSet, S3Error> {
    let vars: HashMap<String, String> = [
        "HOME",
        "USERPROFILE",
        "HOMEDRIVE",
        "HOMEPATH",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ]
    .iter()
    .filter_map(|k| env.var(k).map(|v| (k.to_string(), v)))
    .collect();
    // `load` is async only in its signature: it reads the files with std::fs.
    futures::executor::block_on(aws_config::profile::load(
        &aws_types::os_shim_internal::Fs::real(),
        &aws_types::os_shim_internal::Env::from(vars),
        &Default::default(),
        Some(profile_name.to_string().into()),
    ))
    .map_err(|e| S3Error::Config(format!("cannot read the AWS config files: {e}")))
}

fn show(p: Option<&Path>) -> String {
    p.map(|p| p.display().to_string())
        .unwrap_or_else(|| "~/.aws (HOME not set)".to_string())
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
        // SSO and assume-role profiles are left to aws-config, with a hint for failures.
        let r = with("sso").resolve(&env(&h, &[])).unwrap();
        assert!(r.credentials.is_none());
        assert_eq!(r.region, "us-west-2");
        assert!(r.credential_hint.contains("aws sso login --profile sso"));
        let keys = [
            ("AWS_ACCESS_KEY_ID", "AKIENV"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
        ];
        let r = with("role").resolve(&env(&h, &keys)).unwrap();
        // The role's profile wins over environment keys, as --profile does in the AWS CLI.
        assert!(r.credentials.is_none(), "{r:?}");
        assert!(r.profile_explicit && r.profile == "role");
        assert!(r.credential_hint.contains("sts:AssumeRole"));
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
