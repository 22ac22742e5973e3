//! Errors that say what to do: which URL, which permission, which region.

use std::path::PathBuf;

/// What a request was doing, to name the permission a 403 lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Listing a prefix.
    List,
    /// Reading an object (HEAD or GET).
    Get,
    /// Writing an object (PUT or a multipart upload).
    Put,
    /// Aborting a multipart upload.
    Abort,
    /// Deleting an object (cleanup after a failed upload).
    Delete,
}

impl Op {
    /// The IAM actions the operation needs; with SSE-KMS the KMS action too.
    pub fn permission(self, kms: bool) -> &'static str {
        match (self, kms) {
            (Op::List, _) => "s3:ListBucket",
            (Op::Get, false) => "s3:GetObject",
            (Op::Get, true) => "s3:GetObject and kms:Decrypt on the object's KMS key",
            (Op::Put, false) => "s3:PutObject",
            (Op::Put, true) => "s3:PutObject and kms:GenerateDataKey on the KMS key",
            (Op::Abort, _) => "s3:AbortMultipartUpload",
            (Op::Delete, _) => "s3:DeleteObject",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Op::List => "listing",
            Op::Get => "reading",
            Op::Put => "writing",
            Op::Abort => "aborting the upload of",
            Op::Delete => "deleting",
        }
    }
}

/// Errors of the S3 adapter.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// Not an `s3://bucket/key` URL.
    #[error("invalid S3 URL {url:?}: {reason}")]
    InvalidUrl {
        /// The text given.
        url: String,
        /// Why.
        reason: String,
    },
    /// The bucket name breaks S3's naming rules (checked before any request).
    #[error("invalid bucket name {bucket:?}: {rule}")]
    InvalidBucket {
        /// The name given.
        bucket: String,
        /// The rule broken, as S3's documentation words it.
        rule: String,
    },
    /// The bucket does not exist.
    #[error("bucket not found: s3://{bucket}")]
    BucketNotFound {
        /// The bucket.
        bucket: String,
    },
    /// The object does not exist.
    #[error("object not found: {url}")]
    ObjectNotFound {
        /// The object's URL.
        url: String,
    },
    /// A prefix or glob selected nothing.
    #[error("no objects match {url}")]
    NothingMatches {
        /// The URL given.
        url: String,
    },
    /// 403: the credentials lack a permission.
    #[error("access denied {} {url}: the credentials need {permission}", op.verb())]
    AccessDenied {
        /// The URL.
        url: String,
        /// What was being done.
        op: Op,
        /// The IAM action(s) needed.
        permission: &'static str,
    },
    /// 403 to an anonymous request.
    #[error("access denied {} {url} to anonymous requests (--no-sign-request): it is not public; drop --no-sign-request and use credentials with {permission}", op.verb())]
    AnonymousDenied {
        /// The URL.
        url: String,
        /// What was being done.
        op: Op,
        /// The IAM action(s) needed.
        permission: &'static str,
    },
    /// Requests were signed for another region than the bucket's.
    #[error("bucket {bucket} is in region {actual}, not {configured}: pass --region {actual}")]
    WrongRegion {
        /// The bucket.
        bucket: String,
        /// Its region.
        actual: String,
        /// The region requests were signed for.
        configured: String,
    },
    /// Credentials were refused (401, invalid key or signature).
    #[error("{url}: the credentials were refused ({detail}); check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or --profile")]
    BadCredentials {
        /// The URL.
        url: String,
        /// S3's error code.
        detail: String,
    },
    /// A downloaded copy does not match the object.
    #[error("{url}: downloaded copy does not match: {detail}")]
    Verify {
        /// The object's URL.
        url: String,
        /// What differs.
        detail: String,
    },
    /// Any other failure of a request (after retries).
    #[error("{url}: {} failed: {cause}", op.verb())]
    Request {
        /// The URL.
        url: String,
        /// What was being done.
        op: Op,
        /// object_store's error (its message already holds its causes).
        cause: object_store::Error,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Settings that cannot work together, or a profile that cannot be used.
    #[error("{0}")]
    Config(String),
    /// The upload was interrupted (Ctrl-C).
    #[error("upload to {url} canceled")]
    Canceled {
        /// The destination.
        url: String,
    },
    /// The download was interrupted (Ctrl-C, or its reader went away).
    #[error("download of {url} canceled")]
    DownloadCanceled {
        /// The source.
        url: String,
    },
}

/// What an object_store error says, for the mapping: its kind and the S3 error code found in
/// the response body, if any (object_store keeps the status and body only in its message).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    NotFound {
        no_such_bucket: bool,
    },
    Forbidden,
    Unauthenticated {
        code: String,
    },
    /// 301 PermanentRedirect / 400 AuthorizationHeaderMalformed / IllegalLocationConstraint:
    /// the region is wrong. `region` if the body names the right one.
    WrongRegion {
        region: Option<String>,
    },
    Other,
}

pub(crate) fn classify(e: &object_store::Error) -> Failure {
    let text = e.to_string();
    let code = xml_tag(&text, "Code");
    let region_in_body = xml_tag(&text, "Region");
    // A HEAD signed for the wrong region gets a bare 400 (no body to say why): worth a probe
    // of the bucket's region, which the caller does before concluding anything.
    let bare_400 = text.contains("status code: 400") && code.is_none();
    let wrong_region = text.contains("redirect without LOCATION")
        || text.contains("301 Moved Permanently")
        || bare_400
        || matches!(
            code.as_deref(),
            Some(
                "PermanentRedirect"
                    | "AuthorizationHeaderMalformed"
                    | "IllegalLocationConstraintException"
            )
        );
    match e {
        _ if wrong_region => Failure::WrongRegion {
            region: region_in_body,
        },
        object_store::Error::NotFound { .. } => Failure::NotFound {
            no_such_bucket: code.as_deref() == Some("NoSuchBucket"),
        },
        object_store::Error::PermissionDenied { .. } => match code.as_deref() {
            // 403 is also what S3 answers for keys it does not know or bad signatures.
            Some(
                c @ ("InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "InvalidToken"),
            ) => Failure::Unauthenticated {
                code: c.to_string(),
            },
            _ => Failure::Forbidden,
        },
        object_store::Error::Unauthenticated { .. } => Failure::Unauthenticated {
            code: code.unwrap_or_else(|| "401 Unauthorized".into()),
        },
        // Listing errors reach us as Generic, with the status only in the message.
        _ if code.as_deref() == Some("NoSuchBucket") => Failure::NotFound {
            no_such_bucket: true,
        },
        _ if text.contains("status code: 404") => Failure::NotFound {
            no_such_bucket: false,
        },
        _ if text.contains("status code: 403") || code.as_deref() == Some("AccessDenied") => {
            Failure::Forbidden
        }
        _ => Failure::Other,
    }
}

/// The text of the first `<tag>...</tag>` in `s`.
pub(crate) fn xml_tag(s: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = s.find(&open)? + open.len();
    let len = s[start..].find(&close)?;
    Some(s[start..start + len].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(s: &str) -> Box<dyn std::error::Error + Send + Sync> {
        s.to_string().into()
    }

    #[test]
    fn classifies_by_kind_and_code() {
        let nf = |body: &str| object_store::Error::NotFound {
            path: "k".into(),
            source: boxed(body),
        };
        assert_eq!(
            classify(&nf("<Error><Code>NoSuchBucket</Code></Error>")),
            Failure::NotFound {
                no_such_bucket: true
            }
        );
        assert_eq!(
            classify(&nf("<Error><Code>NoSuchKey</Code></Error>")),
            Failure::NotFound {
                no_such_bucket: false
            }
        );
        let denied = |body: &str| object_store::Error::PermissionDenied {
            path: "k".into(),
            source: boxed(body),
        };
        assert_eq!(
            classify(&denied("<Code>AccessDenied</Code>")),
            Failure::Forbidden
        );
        assert_eq!(
            classify(&denied("<Code>InvalidAccessKeyId</Code>")),
            Failure::Unauthenticated {
                code: "InvalidAccessKeyId".into()
            }
        );
        let generic = |body: &str| object_store::Error::Generic {
            store: "S3",
            source: boxed(body),
        };
        assert_eq!(
            classify(&generic(
                "<Error><Code>AuthorizationHeaderMalformed</Code><Region>eu-west-1</Region></Error>"
            )),
            Failure::WrongRegion {
                region: Some("eu-west-1".into())
            }
        );
        assert_eq!(
            classify(&generic(
                "Received redirect without LOCATION, this normally ..."
            )),
            Failure::WrongRegion { region: None }
        );
        assert_eq!(classify(&generic("connection reset")), Failure::Other);
        assert_eq!(
            classify(&generic(
                "Error performing HEAD http://h/b/k - Server returned non-2xx status code: 400 Bad Request: "
            )),
            Failure::WrongRegion { region: None }
        );
        assert_eq!(
            classify(&generic(
                "Error performing GET http://h/b?list-type=2 - Server returned non-2xx status code: 403 Forbidden: <Error><Code>AccessDenied</Code></Error>"
            )),
            Failure::Forbidden
        );
    }

    #[test]
    fn messages_name_url_and_permission() {
        let e = S3Error::AccessDenied {
            url: "s3://b/k".into(),
            op: Op::Get,
            permission: Op::Get.permission(false),
        };
        assert_eq!(
            e.to_string(),
            "access denied reading s3://b/k: the credentials need s3:GetObject"
        );
        assert!(Op::Put.permission(true).contains("kms:GenerateDataKey"));
        assert!(Op::Get.permission(true).contains("kms:Decrypt"));
        let e = S3Error::WrongRegion {
            bucket: "b".into(),
            actual: "eu-west-1".into(),
            configured: "us-east-1".into(),
        };
        assert_eq!(
            e.to_string(),
            "bucket b is in region eu-west-1, not us-east-1: pass --region eu-west-1"
        );
    }
}
