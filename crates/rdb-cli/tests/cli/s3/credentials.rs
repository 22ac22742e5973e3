//! Credentials that are not static keys, through aws-config: an assume-role profile
//! (`role_arn` + `source_profile`, answered by moto's STS) and a `credential_process` profile
//! each read an object. A proxy in front of moto records the requests, so the test sees
//! which access key signed the S3 requests (moto itself accepts any).

use std::process::Command;

use super::proxy::{Action, Proxy};
use super::{bin, err, local_json, ok, scratch, testdata, Moto};

/// The access key ids that signed S3 GETs/HEADs (STS calls are POSTs to `/`).
fn s3_signers(proxy: &Proxy) -> Vec<String> {
    proxy
        .requests()
        .iter()
        .filter(|r| r.method != "POST")
        .filter_map(|r| r.header("authorization"))
        .filter_map(|a| a.split("Credential=").nth(1))
        .filter_map(|c| c.split('/').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn assume_role_and_credential_process_profiles_read_an_object() {
    let moto = Moto::start().expect("moto is needed: run scripts/test-deps.sh");
    moto.bucket("creds");
    let sample = testdata("sample.rdb");
    moto.put("creds", "dump.rdb", &sample);
    let proxy = Proxy::start(moto.port, |_| Action::Forward);
    let ep = proxy.endpoint();
    let home = scratch("credentials-home");
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    let script = home.join("creds.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESS\", \
         \"SecretAccessKey\": \"s\", \"SessionToken\": \"t\"}'\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    std::fs::write(
        home.join(".aws/credentials"),
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = base-secret\n",
    )
    .unwrap();
    std::fs::write(
        home.join(".aws/config"),
        format!(
            "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/reader\n\
             source_profile = base\nrole_session_name = rdb-test\nregion = us-east-1\n\
             endpoint_url = {ep}\n\n\
             [profile process]\ncredential_process = {}\nregion = us-east-1\n\
             endpoint_url = {ep}\n\n\
             [profile broken]\ncredential_process = /nonexistent/creds\nregion = us-east-1\n\
             endpoint_url = {ep}\n",
            script.display()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(bin())
            .args(args)
            .env("HOME", &home)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_REGION")
            .env_remove("AWS_ENDPOINT_URL")
            .output()
            .unwrap()
    };
    let expected = local_json(std::slice::from_ref(&sample));

    // Assume-role: STS is asked with the source profile's keys, S3 with the role's.
    assert_eq!(
        ok(run(&["s3://creds/dump.rdb", "--profile", "role"])).stdout,
        expected
    );
    let sts = proxy.requests();
    let assumed = sts
        .iter()
        .filter(|r| r.method == "POST")
        .filter_map(|r| r.header("authorization"))
        .any(|a| a.contains("Credential=AKIABASE/"));
    assert!(assumed, "no STS call signed by the source profile: {sts:?}");
    let signers = s3_signers(&proxy);
    assert!(!signers.is_empty());
    assert!(
        signers
            .iter()
            .all(|k| k != "AKIABASE" && k.starts_with("ASIA")),
        "S3 not signed with the role's temporary keys: {signers:?}"
    );

    // The same through AWS_PROFILE (the default chain) rather than --profile.
    proxy.log.lock().unwrap().clear();
    let out = Command::new(bin())
        .args(["s3://creds/dump.rdb", "-vv"])
        .env("HOME", &home)
        .env("AWS_PROFILE", "process")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    let out = ok(out);
    assert_eq!(out.stdout, expected);
    // -vv logs the S3 ranges.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("range downloaded"), "{log}");
    let signers = s3_signers(&proxy);
    assert!(
        !signers.is_empty() && signers.iter().all(|k| k == "AKIAPROCESS"),
        "{signers:?}"
    );

    // A process that cannot run: the message names the profile and says what to do.
    let e = err(run(&["s3://creds/dump.rdb", "--profile", "broken"]));
    assert!(e.contains("profile \"broken\""), "{e}");
    assert!(e.contains("run the credential_process"), "{e}");
    assert!(!e.contains("base-secret"), "{e}");
}
