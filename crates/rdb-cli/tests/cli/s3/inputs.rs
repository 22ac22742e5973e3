//! Reading dumps from S3: one object, a prefix, a glob, credentials and profiles, ranged GETs.

use super::*;

#[test]
fn single_dump_shard_prefix_and_glob() {
    let Some(moto) = Moto::start() else { return };
    let ep = moto.endpoint();
    moto.bucket("dumps");
    let one = testdata("sample.rdb");
    moto.put("dumps", "single/dump.rdb", &one);
    // Shard numbers sort numerically: 0001, 0002, 0010 (not as text).
    let shards = [
        ("name-0010.rdb", testdata("corpus/redis/encodings.rdb")),
        ("name-0002.rdb", testdata("corpus/redis/hash-ziplist.rdb")),
        ("name-0001.rdb", testdata("corpus/redis/zset-ziplist.rdb")),
    ];
    for (name, file) in &shards {
        moto.put("dumps", &format!("shards/{name}"), file);
        moto.put("dumps", &format!("globbed/{name}"), file);
    }
    moto.put("dumps", "globbed/notes.txt", &one);
    let in_order = [
        shards[2].1.clone(),
        shards[1].1.clone(),
        shards[0].1.clone(),
    ];

    let out = ok(convert(&ep, &["s3://dumps/single/dump.rdb"]));
    assert_eq!(out.stdout, local_json(std::slice::from_ref(&one)));

    let out = ok(convert(&ep, &["s3://dumps/shards/"]));
    assert_eq!(out.stdout, local_json(&in_order));
    let out = ok(convert(&ep, &["s3://dumps/globbed/name-*.rdb"]));
    assert_eq!(out.stdout, local_json(&in_order));

    // info names the objects by URL; --keep-download keeps the copies, names kept.
    let keep = scratch("keep");
    let out = ok(convert(
        &ep,
        &[
            "info",
            "s3://dumps/shards/",
            "--keep-download",
            keep.to_str().unwrap(),
        ],
    ));
    let text = String::from_utf8_lossy(&out.stdout);
    let a = text
        .find("s3://dumps/shards/name-0001.rdb")
        .expect("0001 listed");
    let b = text
        .find("s3://dumps/shards/name-0002.rdb")
        .expect("0002 listed");
    let c = text
        .find("s3://dumps/shards/name-0010.rdb")
        .expect("0010 listed");
    assert!(a < b && b < c, "{text}");
    for (name, file) in &shards {
        assert_eq!(
            std::fs::read(keep.join(name)).unwrap(),
            std::fs::read(file).unwrap()
        );
    }
    // The reports read S3 too.
    let memory = ok(convert(&ep, &["memory", "s3://dumps/shards/"])).stdout;
    let local_memory = ok(Command::new(bin())
        .arg("memory")
        .args(&in_order)
        .output()
        .unwrap())
    .stdout;
    assert_eq!(memory, local_memory);
    let top = ok(convert(
        &ep,
        &["top", "s3://dumps/globbed/name-*.rdb", "--json"],
    ))
    .stdout;
    let top: serde_json::Value = serde_json::from_slice(&top).unwrap();
    // Reports name each dump by its URL, not by the local copy's path.
    let files: Vec<&str> = top["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert!(
        !files.is_empty()
            && files
                .iter()
                .all(|f| f.starts_with("s3://dumps/globbed/name-")),
        "{files:?}"
    );

    // Without it nothing is left in the temporary directory.
    let tmp = scratch("tmpdir");
    let out = Command::new(bin())
        .args(["s3://dumps/shards/", "--endpoint-url", &ep])
        .env("TMPDIR", &tmp)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    ok(out);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

#[test]
fn profiles_and_anonymous_requests() {
    let Some(moto) = Moto::start() else { return };
    let ep = moto.endpoint();
    moto.bucket("pub");
    let sample = testdata("sample.rdb");
    moto.put("pub", "dump.rdb", &sample);
    moto.put("pub", "private.rdb", &sample);
    moto.py("s3.put_object_acl(Bucket='pub', Key='dump.rdb', ACL='public-read')");
    let home = scratch("profile-home");
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(
        home.join(".aws/credentials"),
        "[ci]\naws_access_key_id = AKIACI\naws_secret_access_key = secret\n",
    )
    .unwrap();
    std::fs::write(
        home.join(".aws/config"),
        format!("[profile ci]\nregion = us-east-1\nendpoint_url = {ep}\n"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(bin())
            .args(args)
            .env("HOME", &home)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_REGION")
            .output()
            .unwrap()
    };
    let expected = local_json(std::slice::from_ref(&sample));
    // Keys, region and endpoint all from the profile.
    assert_eq!(
        ok(run(&["s3://pub/dump.rdb", "--profile", "ci"])).stdout,
        expected
    );
    // Anonymous.
    assert_eq!(
        ok(run(&[
            "s3://pub/dump.rdb",
            "--no-sign-request",
            "--endpoint-url",
            &ep
        ]))
        .stdout,
        expected
    );
    let e = err(run(&[
        "s3://pub/private.rdb",
        "--no-sign-request",
        "--endpoint-url",
        &ep,
    ]));
    assert!(
        e.contains("access denied reading s3://pub/private.rdb to anonymous requests (--no-sign-request): it is not public"),
        "{e}"
    );
    let e = err(run(&["s3://pub/dump.rdb", "--profile", "nope"]));
    assert!(e.contains("profile \"nope\" not found"), "{e}");
}

#[test]
fn large_object_with_ranged_gets() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("big");
    let dir = scratch("big");
    // 200 values of 1 MiB: a 200 MiB dump.
    let data = big_dump(200, 1 << 20);
    let file = dir.join("big.rdb");
    write_file(&file, &data);
    moto.put("big", "big.rdb", &file);
    let proxy = Proxy::start(moto.port, |_| Action::Forward);
    let keep = dir.join("keep");
    let started = Instant::now();
    let out = ok(convert(
        &proxy.endpoint(),
        &[
            "info",
            "s3://big/big.rdb",
            "--keep-download",
            keep.to_str().unwrap(),
        ],
    ));
    let secs = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("checksum    ok"), "{text}");
    let gets: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    // 16 MiB ranges by default: 13 of them, each GET with a Range header (one may be
    // repeated, or resumed, after a hiccup).
    assert!(gets.iter().all(|r| r.header("range").is_some()), "{gets:?}");
    for i in 0..13u64 {
        let start = format!("bytes={}-", i * (16 << 20));
        assert!(
            gets.iter()
                .any(|r| r.header("range").unwrap().starts_with(&start)),
            "no GET of {start}: {gets:?}"
        );
    }
    assert!(gets.len() < 20, "{gets:?}");
    assert!(std::fs::read(keep.join("big.rdb")).unwrap() == data);
    eprintln!("200 MiB through moto and the proxy in {secs:.1}s");
    let _ = std::fs::remove_dir_all(&dir);
}
