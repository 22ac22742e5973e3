//! Credentials that are not static keys (SSO, assume-role, `credential_process`, web identity,
//! ECS, instance metadata), obtained through `aws-config` and handed to object_store as its
//! credential provider. Temporary credentials are cached and fetched again shortly before
//! they expire.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::Region;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use object_store::aws::AwsCredential;
use object_store::CredentialProvider;
use tokio::sync::{Mutex, OnceCell};

/// Credentials this close to their expiry are fetched again, so that a request signed with
/// them does not outlive them.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Which `aws-config` provider to ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// `--profile NAME`: that profile only, as the AWS CLI does (environment keys ignored).
    Profile(String),
    /// The default chain (environment, the profile named by `AWS_PROFILE` or `default`, web
    /// identity, ECS, instance metadata).
    DefaultChain(String),
}

/// The error a failed credential lookup turns into: what was asked, why it failed (the whole
/// chain of causes: `aws-config`'s top-level messages say little alone) and what to do.
#[derive(Debug, thiserror::Error)]
#[error("cannot get AWS credentials ({asked}): {detail}; {hint}")]
pub(crate) struct CredentialsUnavailable {
    asked: String,
    detail: String,
    hint: String,
    #[source]
    source: CredentialsError,
}

/// object_store's view of an `aws-config` credential provider.
#[derive(Debug)]
pub(crate) struct AwsConfigCredentials {
    source: Source,
    region: String,
    hint: String,
    provider: OnceCell<SharedCredentialsProvider>,
    cached: Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

impl AwsConfigCredentials {
    /// A provider for `source`; `region` is where STS and SSO are asked; `hint` says what to do
    /// when no credentials come.
    pub(crate) fn new(source: Source, region: String, hint: String) -> AwsConfigCredentials {
        AwsConfigCredentials {
            source,
            region,
            hint,
            provider: OnceCell::new(),
            cached: Mutex::new(None),
        }
    }

    async fn provider(&self) -> &SharedCredentialsProvider {
        self.provider
            .get_or_init(|| async {
                let config = ProviderConfig::without_region()
                    .with_region(Some(Region::new(self.region.clone())));
                match &self.source {
                    Source::Profile(name) => SharedCredentialsProvider::new(
                        ProfileFileCredentialsProvider::builder()
                            .configure(&config)
                            .profile_name(name)
                            .build(),
                    ),
                    Source::DefaultChain(name) => SharedCredentialsProvider::new(
                        DefaultCredentialsChain::builder()
                            .configure(config)
                            .profile_name(name)
                            .build()
                            .await,
                    ),
                }
            })
            .await
    }

    fn asked(&self) -> String {
        match &self.source {
            Source::Profile(name) => format!("profile {name:?}"),
            Source::DefaultChain(name) => format!(
                "environment, profile {name:?}, web identity, container or instance credentials"
            ),
        }
    }
}

#[async_trait::async_trait]
impl CredentialProvider for AwsConfigCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        // One lookup at a time: concurrent part uploads wait for the same refresh.
        let mut cached = self.cached.lock().await;
        if let Some((credential, expiry)) = cached.as_ref() {
            let fresh = expiry.is_none_or(|e| e > SystemTime::now() + REFRESH_MARGIN);
            if fresh {
                return Ok(credential.clone());
            }
        }
        let got = self
            .provider()
            .await
            .provide_credentials()
            .await
            .map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(CredentialsUnavailable {
                    asked: self.asked(),
                    detail: causes(&e),
                    hint: self.hint.clone(),
                    source: e,
                }),
            })?;
        let credential = Arc::new(AwsCredential {
            key_id: got.access_key_id().to_string(),
            secret_key: got.secret_access_key().to_string(),
            token: got.session_token().map(str::to_string),
        });
        *cached = Some((credential.clone(), got.expiry()));
        Ok(credential)
    }
}

/// An error and its causes on one line, each said once.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}
