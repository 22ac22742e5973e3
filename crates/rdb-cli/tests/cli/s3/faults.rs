//! What goes wrong talking to S3: dropped connections, errors and their advice, failed and
//! interrupted uploads.

use super::*;
use crate::common::{files_under, signal};

#[test]
fn dropped_connections_are_retried() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("flaky");
    let dir = scratch("flaky");
    let data = big_dump(24, 1 << 20);
    let file = dir.join("flaky.rdb");
    write_file(&file, &data);
    moto.put("flaky", "flaky.rdb", &file);
    let seen = Arc::new(AtomicUsize::new(0));
    let cuts = Arc::new(AtomicUsize::new(0));
    let (seen2, cuts2) = (seen.clone(), cuts.clone());
    // Every third GET is cut 64 KiB into its body.
    let proxy = Proxy::start(moto.port, move |r| {
        if r.method == "GET" && seen2.fetch_add(1, Ordering::Relaxed) % 3 == 1 {
            cuts2.fetch_add(1, Ordering::Relaxed);
            Action::CutAfter(64 << 10)
        } else {
            Action::Forward
        }
    });
    let keep = dir.join("keep");
    let out = ok(convert(
        &proxy.endpoint(),
        &[
            "info",
            "s3://flaky/flaky.rdb",
            "--keep-download",
            keep.to_str().unwrap(),
            "--s3-part-size",
            "1048576",
        ],
    ));
    assert!(
        cuts.load(Ordering::Relaxed) >= 5,
        "{}",
        cuts.load(Ordering::Relaxed)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("checksum    ok"));
    assert!(std::fs::read(keep.join("flaky.rdb")).unwrap() == data);

    // Throttling and server errors: 503 SlowDown and 500 for the first requests, retried with
    // backoff.
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let busy = Proxy::start(moto.port, move |r| {
        match n2.fetch_add(1, Ordering::Relaxed) {
            0 | 2 => Action::Respond(s3_error(
                "503 Slow Down",
                "SlowDown",
                "",
                r.method == "HEAD",
            )),
            1 | 4 => Action::Respond(s3_error(
                "500 Internal Server Error",
                "InternalError",
                "",
                r.method == "HEAD",
            )),
            _ => Action::Forward,
        }
    });
    let out = ok(convert(&busy.endpoint(), &["info", "s3://flaky/flaky.rdb"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("checksum    ok"));
    assert!(n.load(Ordering::Relaxed) > 5);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn errors_say_what_to_do() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("dumps");
    moto.bucket("denied");
    moto.bucket("faraway");
    moto.bucket("nowrite");
    let sample = testdata("sample.rdb");
    moto.put("dumps", "dump.rdb", &sample);
    moto.put("denied", "dump.rdb", &sample);
    let proxy = Proxy::start(moto.port, |r| {
        let head = r.method == "HEAD";
        let denied = r.target.starts_with("/denied")
            || (r.target.starts_with("/nowrite") && r.method == "PUT");
        if denied {
            Action::Respond(s3_error("403 Forbidden", "AccessDenied", "", head))
        } else if r.target.starts_with("/farther") {
            // What S3 answers a HEAD signed for another region: a bare 400 and the header.
            Action::Respond(
                "HTTP/1.1 400 Bad Request\r\nx-amz-bucket-region: ap-south-1\r\ncontent-length: 0\r\n\r\n".into(),
            )
        } else if r.target.starts_with("/faraway") {
            Action::Respond(s3_error(
                "301 Moved Permanently",
                "PermanentRedirect",
                "x-amz-bucket-region: eu-west-1\r\n",
                head,
            ))
        } else {
            Action::Forward
        }
    });
    let ep = proxy.endpoint();

    // Checked before any request.
    let e = err(convert(&ep, &["s3://My_Dumps/dump.rdb"]));
    assert!(
        e.contains(
            "invalid bucket name \"My_Dumps\": bucket names can consist only of lowercase letters"
        ),
        "{e}"
    );
    let e = err(convert(&ep, &["s3://ab/dump.rdb"]));
    assert!(e.contains("between 3 and 63 characters"), "{e}");
    let e = err(convert(&ep, &["s3://10.0.0.1/dump.rdb"]));
    assert!(e.contains("IP address"), "{e}");
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());

    let e = err(convert(&ep, &["s3://no-such-bucket/dump.rdb"]));
    assert!(e.contains("bucket not found: s3://no-such-bucket"), "{e}");
    let e = err(convert(&ep, &["s3://no-such-bucket/prefix/"]));
    assert!(e.contains("bucket not found: s3://no-such-bucket"), "{e}");
    let e = err(convert(&ep, &["s3://dumps/missing.rdb"]));
    assert!(
        e.contains("object not found: s3://dumps/missing.rdb"),
        "{e}"
    );
    let e = err(convert(&ep, &["s3://dumps/missing/"]));
    assert!(e.contains("no objects match s3://dumps/missing/"), "{e}");

    let e = err(convert(&ep, &["s3://denied/dump.rdb"]));
    assert!(
        e.contains("access denied reading s3://denied/dump.rdb: the credentials need s3:GetObject"),
        "{e}"
    );
    let e = err(convert(&ep, &["info", "s3://denied/backups/"]));
    assert!(
        e.contains(
            "access denied listing s3://denied/backups/: the credentials need s3:ListBucket"
        ),
        "{e}"
    );
    let e = err(convert(
        &ep,
        &["s3://dumps/dump.rdb", "-o", "s3://nowrite/out.json"],
    ));
    assert!(
        e.contains(
            "access denied writing s3://nowrite/out.json: the credentials need s3:PutObject"
        ),
        "{e}"
    );
    let e = err(convert(
        &ep,
        &[
            "s3://dumps/dump.rdb",
            "-o",
            "s3://nowrite/out.json",
            "--sse",
            "aws:kms",
        ],
    ));
    assert!(e.contains("s3:PutObject and kms:GenerateDataKey"), "{e}");

    let e = err(convert(&ep, &["s3://farther/dump.rdb"]));
    assert!(
        e.contains(
            "bucket farther is in region ap-south-1, not us-east-1: pass --region ap-south-1"
        ),
        "{e}"
    );
    let e = err(convert(&ep, &["s3://faraway/dump.rdb"]));
    assert!(
        e.contains("bucket faraway is in region eu-west-1, not us-east-1: pass --region eu-west-1"),
        "{e}"
    );
}

#[test]
fn failed_upload_leaves_only_a_failed_manifest() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("halfway");
    let dir = scratch("halfway");
    // Incompressible values: the strings table's part file is ~12 MiB, uploaded in 5 MiB
    // parts; the proxy refuses part 2.
    let file = dir.join("dump.rdb");
    write_file(&file, &big_dump(12, 1 << 20));
    let proxy = Proxy::start(moto.port, |r| {
        if r.method == "PUT" && r.target.contains("partNumber=2") {
            Action::Respond(s3_error("403 Forbidden", "AccessDenied", "", false))
        } else {
            Action::Forward
        }
    });
    let e = err(convert(
        &proxy.endpoint(),
        &[
            file.to_str().unwrap(),
            "--format",
            "parquet",
            "--compression",
            "none",
            "--output",
            "s3://halfway/export/",
            "--sse",
            "AES256",
            "--s3-part-size",
            "5242880",
        ],
    ));
    assert!(e.contains("s3:PutObject"), "{e}");
    assert!(e.contains("FAILED"), "{e}");
    assert!(
        proxy
            .requests()
            .iter()
            .any(|r| r.target.contains("partNumber=1")),
        "no multipart upload was started"
    );
    assert_eq!(moto.keys("halfway", ""), ["export/export_info.json"]);
    let out = moto.py(
        "m = json.loads(s3.get_object(Bucket='halfway', Key='export/export_info.json')['Body'].read())\n\
         u = s3.list_multipart_uploads(Bucket='halfway').get('Uploads', [])\n\
         print(m['status'], len(u))",
    );
    assert_eq!(out.trim(), "FAILED 0");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn interrupted_upload_is_aborted() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("stopped");
    let dir = scratch("stopped");
    let file = dir.join("dump.rdb");
    write_file(&file, &big_dump(12, 1 << 20));
    // Parts crawl, so the upload is surely under way when Ctrl-C comes.
    let proxy = Proxy::start(moto.port, |r| {
        if r.method == "PUT" && r.target.contains("partNumber=") {
            std::thread::sleep(Duration::from_secs(2));
        }
        Action::Forward
    });
    let child = Command::new(bin())
        .args([
            file.to_str().unwrap(),
            "--format",
            "parquet",
            "--compression",
            "none",
            "--output",
            "s3://stopped/export/",
            "--s3-part-size",
            "5242880",
            "--endpoint-url",
            &proxy.endpoint(),
        ])
        .env("HOME", &dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !proxy
        .requests()
        .iter()
        .any(|r| r.target.contains("partNumber=1"))
    {
        assert!(Instant::now() < deadline, "no multipart upload started");
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("canceled"), "{stderr}");
    assert_eq!(moto.keys("stopped", ""), ["export/export_info.json"]);
    let out = moto.py(
        "m = json.loads(s3.get_object(Bucket='stopped', Key='export/export_info.json')['Body'].read())\n\
         u = s3.list_multipart_uploads(Bucket='stopped').get('Uploads', [])\n\
         print(m['status'], len(u))",
    );
    assert_eq!(out.trim(), "FAILED 0");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run killed while it downloads leaves no copy of the dumps behind: the spool directory
/// under `TMPDIR` holds user data, and a signal used to end the process before it was removed.
#[test]
fn signal_during_download_leaves_no_spooled_dump() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("spool");
    let dir = scratch("spool");
    for (i, name) in ["a.rdb", "b.rdb"].iter().enumerate() {
        let file = dir.join(name);
        write_file(&file, &big_dump(10 + i, 1 << 20));
        moto.put("spool", &format!("shards/{name}"), &file);
    }
    // The second dump never arrives, so the signal lands with the first one spooled.
    let proxy = Proxy::start(moto.port, |r| {
        if r.method == "GET" && r.target.contains("b.rdb") {
            std::thread::sleep(Duration::from_secs(60));
        }
        Action::Forward
    });
    let export = dir.join("export");
    for (signal, args) in [
        ("-TERM", &["info"][..]),
        ("-INT", &["--format", "json", "--output", "-"][..]),
        ("-HUP", &["memory"][..]),
        // The Parquet export stops gracefully at the first signal.
        (
            "-INT",
            &["--format", "parquet", "--output", export.to_str().unwrap()][..],
        ),
    ] {
        let tmp = dir.join(format!("tmp{signal}-{}", args[0]));
        std::fs::create_dir_all(&tmp).unwrap();
        let child = Command::new(bin())
            .args(args)
            .args(["s3://spool/shards/", "--endpoint-url", &proxy.endpoint()])
            .env("TMPDIR", &tmp)
            .env("HOME", &dir)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let b_asked = |proxy: &Proxy| {
            proxy
                .requests()
                .iter()
                .any(|r| r.method == "GET" && r.target.contains("b.rdb"))
        };
        while !b_asked(&proxy) {
            assert!(Instant::now() < deadline, "{args:?}: b.rdb never requested");
            std::thread::sleep(Duration::from_millis(50));
        }
        // Let a.rdb's copy settle into the spool directory.
        std::thread::sleep(Duration::from_millis(300));
        let spooled = files_under(&tmp);
        assert!(
            !spooled.is_empty(),
            "{args:?}: expected a download spooled under {}",
            tmp.display()
        );
        crate::common::signal(&child, signal);
        // One signal is enough, even for the graceful export: the stalled download is
        // given up, not waited for (the server would hold it for a minute).
        let started = Instant::now();
        let mut child = child;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > Duration::from_secs(15) {
                let _ = child.kill();
                panic!("{args:?}: still running 15 s after {signal}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stderr = String::from_utf8_lossy(&child.wait_with_output().unwrap().stderr).to_string();
        assert!(
            !status.success(),
            "{args:?}: succeeded after {signal}: {stderr}"
        );
        if args.contains(&"parquet") {
            assert!(stderr.contains("canceled"), "{stderr}");
        }
        assert_eq!(
            files_under(&tmp),
            Vec::<PathBuf>::new(),
            "{args:?}: left behind after {signal}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
