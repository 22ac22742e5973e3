//! The client: one object_store `AmazonS3` per bucket, driven by a tokio runtime this crate
//! owns, so callers stay synchronous.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};

use crate::config::{ProcessEnv, Resolved, S3Config};
use crate::credentials::{AwsConfigCredentials, Source};
use crate::error::{classify, Failure, Op, S3Error};
use crate::url::{shard_number, S3Url, Target};

/// Server-side encryption for written objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sse {
    /// SSE-S3 (`AES256`): keys managed by S3.
    Aes256,
    /// SSE-KMS (`aws:kms`), with a key id or ARN (else the account's `aws/s3` key).
    Kms {
        /// Key id, alias or ARN.
        key_id: Option<String>,
    },
}

/// Tuning of transfers and retries.
#[derive(Clone, Debug)]
pub struct S3Options {
    /// Encryption of written objects; `None` leaves it to the bucket's default.
    pub sse: Option<Sse>,
    /// Bytes per ranged GET and per multipart part (at least 5 MiB for real S3 uploads).
    pub part_size: u64,
    /// Ranged GETs or parts in flight at once.
    pub concurrency: usize,
    /// Objects up to this size are fetched with one GET and uploaded with one PUT.
    pub small_object: u64,
    /// Retries of a request after a 5xx, throttling (503 SlowDown) or a dropped connection.
    pub retries: usize,
    /// First backoff; doubled each retry (with jitter), up to 10 s.
    pub backoff: Duration,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            sse: None,
            part_size: 16 << 20,
            concurrency: 8,
            small_object: 8 << 20,
            retries: 5,
            backoff: Duration::from_millis(100),
        }
    }
}

/// An object found by [`S3::resolve`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its URL.
    pub url: S3Url,
    /// Size in bytes.
    pub size: u64,
    /// ETag, without quotes.
    pub e_tag: Option<String>,
}

/// A connection to S3 (or an S3-compatible store): resolves URLs, downloads, uploads.
/// Cheap to clone; clones share the runtime and connections.
#[derive(Clone, Debug)]
pub struct S3 {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) settings: Resolved,
    pub(crate) options: S3Options,
    stores: Mutex<HashMap<String, Arc<AmazonS3>>>,
    credentials: std::sync::OnceLock<object_store::aws::AwsCredentialProvider>,
    pub(crate) transferred: Transferred,
}

/// Bytes a client (and its clones) has moved so far, for a progress display: the caller
/// reads them while a download or upload runs on another thread.
#[derive(Debug, Default)]
pub struct Transferred {
    pub(crate) downloaded: AtomicU64,
    pub(crate) uploaded: AtomicU64,
}

impl Transferred {
    /// Bytes of object ranges received (a retried range counts once).
    pub fn downloaded(&self) -> u64 {
        self.downloaded.load(Ordering::Relaxed)
    }

    /// Bytes of objects and multipart parts handed to the store (a part counts when queued).
    pub fn uploaded(&self) -> u64 {
        self.uploaded.load(Ordering::Relaxed)
    }
}

impl S3 {
    /// A client for `config`, with the environment and `~/.aws` files of this process.
    pub fn new(config: &S3Config, options: S3Options) -> Result<S3, S3Error> {
        S3::with_settings(config.resolve(&ProcessEnv)?, options)
    }

    /// A client for settings already resolved.
    pub fn with_settings(settings: Resolved, options: S3Options) -> Result<S3, S3Error> {
        if options.part_size == 0 || options.concurrency == 0 {
            return Err(S3Error::Config(
                "part size and concurrency must be at least 1".into(),
            ));
        }
        // Two workers: the work is waiting on the network; decoding keeps the other cores.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("rdb-s3")
            .enable_all()
            .build()
            .map_err(|e| S3Error::Config(format!("cannot start the S3 runtime: {e}")))?;
        Ok(S3 {
            inner: Arc::new(Inner {
                rt,
                settings,
                options,
                stores: Mutex::new(HashMap::new()),
                credentials: std::sync::OnceLock::new(),
                transferred: Transferred::default(),
            }),
        })
    }

    /// The resolved settings (region, endpoint...).
    pub fn settings(&self) -> &Resolved {
        &self.inner.settings
    }

    /// Bytes downloaded and uploaded so far by this client and its clones.
    pub fn transferred(&self) -> &Transferred {
        &self.inner.transferred
    }

    /// The transfer options.
    pub fn options(&self) -> &S3Options {
        &self.inner.options
    }

    pub(crate) fn store(&self, bucket: &str) -> Result<Arc<AmazonS3>, S3Error> {
        let mut stores = self.inner.stores.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = stores.get(bucket) {
            return Ok(s.clone());
        }
        let s = Arc::new(self.build_store(bucket)?);
        stores.insert(bucket.to_string(), s.clone());
        Ok(s)
    }

    fn build_store(&self, bucket: &str) -> Result<AmazonS3, S3Error> {
        let st = &self.inner.settings;
        let o = &self.inner.options;
        // from_env reads object_store's AWS_* settings; the credentials set below (static
        // keys, or aws-config's provider) override its own chain.
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_region(&st.region)
            .with_virtual_hosted_style_request(!st.path_style)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: o.backoff,
                    max_backoff: Duration::from_secs(10),
                    base: 2.0,
                },
                max_retries: o.retries,
                retry_timeout: Duration::from_secs(180),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(10))
                    // A part of 16 MiB on a slow link still fits; a stalled one is retried.
                    .with_timeout(Duration::from_secs(300)),
            );
        if let Some(ep) = &st.endpoint_url {
            let ep = if st.path_style {
                ep.clone()
            } else {
                // object_store wants the bucket in a virtual-hosted endpoint's host.
                match ep.split_once("://") {
                    Some((scheme, host)) => format!("{scheme}://{bucket}.{host}"),
                    None => format!("{bucket}.{ep}"),
                }
            };
            b = b
                .with_allow_http(ep.starts_with("http://"))
                .with_endpoint(ep);
        }
        if st.no_sign_request {
            b = b.with_skip_signature(true);
        } else if let Some(c) = &st.credentials {
            b = b
                .with_access_key_id(&c.access_key_id)
                .with_secret_access_key(&c.secret_access_key);
            if let Some(t) = &c.session_token {
                b = b.with_token(t);
            }
        } else {
            b = b.with_credentials(self.credential_provider());
        }
        match &o.sse {
            None => {}
            Some(Sse::Aes256) => {
                b = b.with_config(
                    "aws_server_side_encryption"
                        .parse()
                        .map_err(|e| S3Error::Config(format!("{e}")))?,
                    "AES256",
                );
            }
            Some(Sse::Kms { key_id }) => {
                b = b.with_sse_kms_encryption(key_id.clone().unwrap_or_default());
            }
        }
        b.build()
            .map_err(|e| S3Error::Config(format!("s3://{bucket}: {e}")))
    }

    /// Whether written objects use SSE-KMS (for permission messages).
    /// The `aws-config` provider, one per client so that every bucket's store shares its
    /// cached temporary credentials.
    fn credential_provider(&self) -> object_store::aws::AwsCredentialProvider {
        self.inner
            .credentials
            .get_or_init(|| {
                let st = &self.inner.settings;
                let source = if st.profile_explicit {
                    Source::Profile(st.profile.clone())
                } else {
                    Source::DefaultChain(st.profile.clone())
                };
                Arc::new(AwsConfigCredentials::new(
                    source,
                    st.region.clone(),
                    st.credential_hint.clone(),
                ))
            })
            .clone()
    }

    pub(crate) fn kms(&self) -> bool {
        matches!(self.inner.options.sse, Some(Sse::Kms { .. }))
    }

    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.inner.rt.block_on(f)
    }

    /// The objects a URL names: the object itself (checked with a HEAD), or every object
    /// under a prefix or matching a glob, ordered by the shard number at the end of their
    /// names (`name-2.rdb` before `name-10.rdb`), then by key.
    pub fn resolve(&self, url: &S3Url) -> Result<Vec<ObjectInfo>, S3Error> {
        self.block_on(self.resolve_async(url))
    }

    pub(crate) async fn resolve_async(&self, url: &S3Url) -> Result<Vec<ObjectInfo>, S3Error> {
        if url.target == Target::Object {
            return Ok(vec![self.head_async(url).await?]);
        }
        let store = self.store(&url.bucket)?;
        let prefix = url.list_prefix();
        let path = (!prefix.is_empty()).then(|| ObjectPath::from(prefix.trim_end_matches('/')));
        let metas: Vec<_> = match store.list(path.as_ref()).try_collect().await {
            Ok(m) => m,
            Err(e) => return Err(self.map_err(e, url, Op::List).await),
        };
        let mut found: Vec<ObjectInfo> = metas
            .into_iter()
            .filter(|m| url.matches(m.location.as_ref()))
            // "Directory" markers some tools create.
            .filter(|m| !m.location.as_ref().ends_with('/'))
            .map(|m| ObjectInfo {
                url: url.with_key(m.location.as_ref()),
                size: m.size,
                e_tag: m.e_tag.map(|t| t.trim_matches('"').to_string()),
            })
            .collect();
        if found.is_empty() {
            return Err(S3Error::NothingMatches {
                url: url.to_string(),
            });
        }
        found.sort_by(|a, b| {
            (shard_number(&a.url.key), &a.url.key).cmp(&(shard_number(&b.url.key), &b.url.key))
        });
        Ok(found)
    }

    /// HEAD of one object.
    pub fn head(&self, url: &S3Url) -> Result<ObjectInfo, S3Error> {
        self.block_on(self.head_async(url))
    }

    pub(crate) async fn head_async(&self, url: &S3Url) -> Result<ObjectInfo, S3Error> {
        let store = self.store(&url.bucket)?;
        match store.head(&ObjectPath::from(url.key.as_str())).await {
            Ok(m) => Ok(ObjectInfo {
                url: url.clone(),
                size: m.size,
                e_tag: m.e_tag.map(|t| t.trim_matches('"').to_string()),
            }),
            Err(e) => Err(self.map_err(e, url, Op::Get).await),
        }
    }

    /// Deletes one object.
    pub fn delete(&self, url: &S3Url) -> Result<(), S3Error> {
        self.block_on(self.delete_async(url))
    }

    pub(crate) async fn delete_async(&self, url: &S3Url) -> Result<(), S3Error> {
        let store = self.store(&url.bucket)?;
        match store.delete(&ObjectPath::from(url.key.as_str())).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.map_err(e, url, Op::Delete).await),
        }
    }

    /// Turns object_store's error into one that says what to do. A 404 on an object is
    /// told apart from a missing bucket, and a region error names the bucket's region,
    /// with one more request each when the first answer does not say.
    pub(crate) async fn map_err(&self, e: object_store::Error, url: &S3Url, op: Op) -> S3Error {
        let request = |cause| S3Error::Request {
            url: url.to_string(),
            op,
            cause,
        };
        match classify(&e) {
            Failure::NotFound {
                no_such_bucket: true,
            } => S3Error::BucketNotFound {
                bucket: url.bucket.clone(),
            },
            Failure::NotFound {
                no_such_bucket: false,
            } => {
                // A HEAD's 404 has no body: list the bucket to learn whether it exists.
                if op == Op::List || !self.bucket_exists(url).await {
                    S3Error::BucketNotFound {
                        bucket: url.bucket.clone(),
                    }
                } else {
                    S3Error::ObjectNotFound {
                        url: url.to_string(),
                    }
                }
            }
            Failure::Forbidden if self.inner.settings.no_sign_request => S3Error::AnonymousDenied {
                url: url.to_string(),
                op,
                permission: op.permission(false),
            },
            Failure::Forbidden => S3Error::AccessDenied {
                url: url.to_string(),
                op,
                permission: op.permission(self.kms() && op == Op::Put),
            },
            Failure::Unauthenticated { code } => S3Error::BadCredentials {
                url: url.to_string(),
                detail: code,
            },
            Failure::WrongRegion { region } => {
                let configured = self.inner.settings.region.clone();
                let actual = match region {
                    Some(r) => Some(r),
                    None => self.probe_region(&url.bucket).await,
                };
                match actual {
                    Some(actual) if actual != configured => S3Error::WrongRegion {
                        bucket: url.bucket.clone(),
                        actual,
                        configured,
                    },
                    _ => request(e),
                }
            }
            Failure::Other => request(e),
        }
    }

    async fn bucket_exists(&self, url: &S3Url) -> bool {
        let Ok(store) = self.store(&url.bucket) else {
            return true;
        };
        let probe = ObjectPath::from(url.key.as_str());
        match store.list_with_delimiter(Some(&probe)).await {
            Err(e) => !matches!(classify(&e), Failure::NotFound { .. }),
            Ok(_) => true,
        }
    }

    /// The bucket's region from the `x-amz-bucket-region` header S3 sends on a HEAD of the
    /// bucket, even unsigned and even when it refuses the request.
    async fn probe_region(&self, bucket: &str) -> Option<String> {
        let st = &self.inner.settings;
        let url = match &st.endpoint_url {
            Some(ep) => format!("{ep}/{bucket}"),
            // S3's wildcard certificate covers one label: path-style for dotted names.
            None if bucket.contains('.') => format!("https://s3.amazonaws.com/{bucket}"),
            None => format!("https://{bucket}.s3.amazonaws.com"),
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .ok()?;
        let response = client.head(url).send().await.ok()?;
        response
            .headers()
            .get("x-amz-bucket-region")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}
