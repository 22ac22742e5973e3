//! S3 transfers show progress: `--progress` off a terminal writes `progress: download ...`
//! and `progress: upload ...` lines for split's inputs and outputs; `--no-progress` none.

use super::*;

#[test]
fn downloads_and_uploads_show_progress_lines() {
    let moto = Moto::start().expect("RDB_TEST_MOTO (moto server) is needed by this test");
    let ep = moto.endpoint();
    moto.bucket("dumps");
    let dump = scratch("progress").join("big.rdb");
    // 12 MB: ranged GETs and a multipart upload, several progress ticks.
    std::fs::write(&dump, big_dump(12, 1 << 20)).unwrap();
    moto.put("dumps", "in/big.rdb", &dump);
    let run = |progress: &str| {
        let home = scratch("home-progress");
        Command::new(bin())
            .args([
                "split",
                "s3://dumps/in/big.rdb",
                "--shards",
                "2",
                "--output-prefix",
                "s3://dumps/out/big",
                "--sse",
                "AES256",
                progress,
                "--endpoint-url",
                &ep,
            ])
            .env("HOME", &home)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RDB_CONVERT_PROGRESS_INTERVAL_MS", "0")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_SESSION_TOKEN")
            .output()
            .unwrap()
    };
    let stderr = String::from_utf8_lossy(&ok(run("--progress")).stderr).into_owned();
    let size = std::fs::metadata(&dump).unwrap().len() as f64 / 1e6;
    let done = format!("100.0% {size:.1} MB/{size:.1} MB");
    for what in ["download", "upload"] {
        let last = stderr
            .lines()
            .find(|l| l.starts_with(&format!("progress: {what} done ")))
            .unwrap_or_else(|| panic!("no {what} line: {stderr}"));
        if what == "download" {
            assert!(last.contains(&done), "{last}");
        }
        assert!(!last.contains("keys"), "{last}");
    }
    // The split itself reports too.
    assert!(stderr.contains("progress: done 100.0% "), "{stderr}");
    assert_eq!(moto.keys("dumps", "out/").len(), 2);
    let quiet = String::from_utf8_lossy(&ok(run("--no-progress")).stderr).into_owned();
    assert!(!quiet.contains("progress:"), "{quiet}");
}
