//! Writing exports to S3: Parquet with SSE read back with pyarrow, and --overwrite of an
//! existing export.

use super::*;

#[test]
fn parquet_export_with_sse_read_back_with_pyarrow() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("src");
    moto.bucket("exports");
    let dump = testdata("corpus/redis/encodings.rdb");
    moto.put("src", "dump.rdb", &dump);
    let puts = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let puts2 = puts.clone();
    let proxy = Proxy::start(moto.port, move |r| {
        if r.method == "PUT" || r.method == "POST" {
            puts2.lock().unwrap().push(r.target.clone());
        }
        Action::Forward
    });
    let ep = proxy.endpoint();

    let local = scratch("local-export");
    ok(Command::new(bin())
        .arg(&dump)
        .args(["--format", "parquet", "-o"])
        .arg(&local)
        .output()
        .unwrap());

    let out = ok(convert(
        &ep,
        &[
            "s3://src/dump.rdb",
            "--format",
            "parquet",
            "--output",
            "s3://exports/aes/",
            "--sse",
            "AES256",
        ],
    ));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("without --sse"), "{stderr}");
    assert!(stderr.contains("uploaded"), "{stderr}");
    // The manifest is the last object written.
    let last_put = puts.lock().unwrap().last().cloned().unwrap();
    assert!(last_put.contains("export_info.json"), "{last_put}");

    let check = moto.py(
        "keys = [o['Key'] for o in s3.list_objects_v2(Bucket='exports', Prefix='aes/')['Contents']]\n\
         sse = {s3.head_object(Bucket='exports', Key=k).get('ServerSideEncryption') for k in keys}\n\
         m = json.loads(s3.get_object(Bucket='exports', Key='aes/export_info.json')['Body'].read())\n\
         print(json.dumps({'n': len(keys), 'sse': sorted(map(str, sse)), 'status': m['status'], 'output': m['output'], 'sources': m['sources']}))",
    );
    let v: serde_json::Value = serde_json::from_str(&check).unwrap();
    assert_eq!(v["sse"], serde_json::json!(["AES256"]), "{v}");
    assert_eq!(v["status"], "COMPLETE");
    assert_eq!(v["output"], "s3://exports/aes/");
    assert_eq!(v["sources"], serde_json::json!(["s3://src/dump.rdb"]));
    assert!(v["n"].as_u64().unwrap() > 3, "{v}");

    // pyarrow reads every table from the server and finds the local export's rows.
    let script = format!(
        "import pyarrow.dataset as ds, pyarrow.fs as pafs\n\
         fs = pafs.S3FileSystem(endpoint_override=ep, scheme='http', access_key='test', secret_key='test', region='us-east-1')\n\
         local = {local:?}\n\
         tables = sorted(d for d in os.listdir(local) if os.path.isdir(os.path.join(local, d)))\n\
         def rows(src, fsys):\n\
         \x20   t = ds.dataset(src, filesystem=fsys, format='parquet', partitioning='hive').to_table()\n\
         \x20   # `file` names the source: a local path on one side, the s3:// URL on the other.\n\
         \x20   return sorted(json.dumps({{k: v for k, v in r.items() if k != 'file'}}, sort_keys=True, default=str) for r in t.to_pylist())\n\
         n = 0\n\
         for t in tables:\n\
         \x20   a = rows(os.path.join(local, t), None)\n\
         \x20   b = rows('exports/aes/' + t, fs)\n\
         \x20   assert a == b, (t, len(a), len(b))\n\
         \x20   n += len(a)\n\
         print(len(tables), n)",
        local = local.display().to_string()
    );
    let out = moto.py(&script);
    let mut parts = out.split_whitespace();
    let tables: usize = parts.next().unwrap().parse().unwrap();
    let rows: usize = parts.next().unwrap().parse().unwrap();
    assert!(tables >= 3 && rows > 10, "{out}");

    // SSE-KMS with a key id.
    ok(convert(
        &ep,
        &[
            "s3://src/dump.rdb",
            "--format",
            "parquet",
            "--output",
            "s3://exports/kms/",
            "--sse",
            "aws:kms",
            "--kms-key-id",
            "test-key-1",
        ],
    ));
    let out = moto.py(
        "h = s3.head_object(Bucket='exports', Key='kms/export_info.json')\n\
         print(h.get('ServerSideEncryption'), h.get('SSEKMSKeyId'))",
    );
    assert!(
        out.starts_with("aws:kms ") && out.contains("test-key-1"),
        "{out}"
    );
    // export-status reads the remote manifest (it records the encryption asked for) and
    // with --verify finds every listed object in place.
    let out = ok(convert(
        &ep,
        &[
            "export-status",
            "s3://exports/kms/",
            "--verify",
            "--format",
            "json",
        ],
    ));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["status"], "COMPLETE", "{status}");
    assert_eq!(status["missing"], serde_json::json!([]), "{status}");
    assert_eq!(
        status["encryption"],
        serde_json::json!({"sse": "aws:kms", "kms_key_id": "test-key-1"})
    );
    let out = ok(convert(&ep, &["export-status", "s3://exports/kms"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("status:    COMPLETE"), "{text}");

    // A second export into the same place needs --overwrite.
    let e = err(convert(
        &ep,
        &[
            "s3://src/dump.rdb",
            "--format",
            "parquet",
            "--output",
            "s3://exports/kms/",
        ],
    ));
    assert!(e.contains("--overwrite"), "{e}");
    // With it, the old tables are replaced: a filtered export leaves only its own parts.
    let before = moto.keys("exports", "kms/").len();
    ok(convert(
        &ep,
        &[
            "s3://src/dump.rdb",
            "--format",
            "parquet",
            "--output",
            "s3://exports/kms/",
            "--overwrite",
            "--type",
            "string",
        ],
    ));
    let after = moto.keys("exports", "kms/");
    assert!(after.len() < before, "{before} -> {after:?}");
    assert!(after.iter().all(|k| !k.contains("/hashes/")), "{after:?}");

    // JSON to one object, unencrypted: warned about.
    let out = ok(convert(
        &ep,
        &["s3://src/dump.rdb", "-o", "s3://exports/dump.json"],
    ));
    assert!(String::from_utf8_lossy(&out.stderr).contains("without --sse"));
    let body = moto.py("sys.stdout.write(s3.get_object(Bucket='exports', Key='dump.json')['Body'].read().decode())");
    assert_eq!(body.as_bytes(), local_json(std::slice::from_ref(&dump)));

    // split: one RDB per shard, uploaded; they hold every key between them.
    ok(convert(
        &ep,
        &[
            "split",
            "s3://src/dump.rdb",
            "--shards",
            "3",
            "--output-prefix",
            "s3://exports/split/dump",
            "--sse",
            "AES256",
        ],
    ));
    assert_eq!(
        moto.keys("exports", "split/"),
        [
            "split/dump-0001.rdb",
            "split/dump-0002.rdb",
            "split/dump-0003.rdb"
        ]
    );
    let split_keys = ok(convert(&ep, &["s3://exports/split/"])).stdout;
    let lines = |b: &[u8]| {
        let mut v: Vec<String> = String::from_utf8_lossy(b)
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        lines(&split_keys),
        lines(&local_json(std::slice::from_ref(&dump)))
    );
}

/// Export manifest at `s3://<bucket>/<prefix>export_info.json`: its status, its rows of
/// `keys`, and the listed files that are not in the bucket.
fn remote_manifest(moto: &Moto, bucket: &str, prefix: &str) -> serde_json::Value {
    let out = moto.py(&format!(
        "m = json.loads(s3.get_object(Bucket='{bucket}', Key='{prefix}export_info.json')['Body'].read())\n\
         keys = set(o['Key'] for o in s3.list_objects_v2(Bucket='{bucket}', Prefix='{prefix}').get('Contents', []))\n\
         missing = [f['path'] for f in m.get('files', []) if '{prefix}' + f['path'] not in keys]\n\
         print(json.dumps({{'status': m['status'], 'keys': m.get('rows', {{}}).get('keys'), 'listed': len(m.get('files', [])), 'missing': missing}}))"
    ));
    serde_json::from_str(&out).unwrap()
}

/// Same file name under two prefixes: both dumps' rows are exported. --overwrite makes the
/// old manifest stop saying COMPLETE before it deletes anything, and deletes only objects
/// the old manifest lists (not the user's objects beside the tables).
#[test]
fn overwrite_never_leaves_a_complete_manifest_over_missing_objects() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("src");
    moto.bucket("replaced");
    let dir = scratch("overwrite");
    let (a, b) = (dir.join("a.rdb"), dir.join("b.rdb"));
    write_file(&a, &big_dump(3, 16));
    write_file(&b, &big_dump(5, 16));
    moto.put("src", "host1/dump.rdb", &a);
    moto.put("src", "host2/dump.rdb", &b);
    moto.put("replaced", "exp/keys/notes.txt", &a);
    let export = |endpoint: &str, overwrite: bool| {
        let mut args = vec![
            "s3://src/host1/dump.rdb",
            "s3://src/host2/dump.rdb",
            "--format",
            "parquet",
            "--output",
            "s3://replaced/exp/",
            "--sse",
            "AES256",
        ];
        if overwrite {
            args.push("--overwrite");
        }
        convert(endpoint, &args)
    };
    ok(export(&moto.endpoint(), false));
    let m = remote_manifest(&moto, "replaced", "exp/");
    assert_eq!(m["status"], "COMPLETE", "{m}");
    assert_eq!(m["keys"], 8, "both dumps named dump.rdb are counted: {m}");
    assert_eq!(m["missing"], serde_json::json!([]), "{m}");
    let parts = moto.keys("replaced", "exp/keys/");
    let parts: Vec<_> = parts.iter().filter(|k| k.ends_with(".parquet")).collect();
    assert_eq!(parts.len(), 2, "one keys part per dump: {parts:?}");

    // --overwrite, stopped after its first DELETE (as by a crash).
    let deletes = Arc::new(AtomicUsize::new(0));
    let seen = deletes.clone();
    let proxy = Proxy::start(moto.port, move |r| {
        // object_store deletes with POST ?delete (DeleteObjects).
        let delete = r.method == "DELETE" || r.target.ends_with("?delete");
        if delete && seen.fetch_add(1, Ordering::SeqCst) >= 1 {
            Action::Respond(s3_error("403 Forbidden", "AccessDenied", "", false))
        } else {
            Action::Forward
        }
    });
    let e = err(export(&proxy.endpoint(), true));
    assert!(deletes.load(Ordering::SeqCst) >= 2, "{e}");
    // One object was deleted: the manifest must not say COMPLETE any more.
    let m = remote_manifest(&moto, "replaced", "exp/");
    assert_ne!(m["status"], "COMPLETE", "{m}\n{e}");

    // A clean --overwrite: complete again, every listed object there, the user's kept.
    ok(export(&moto.endpoint(), true));
    let m = remote_manifest(&moto, "replaced", "exp/");
    assert_eq!(m["status"], "COMPLETE", "{m}");
    assert_eq!(m["keys"], 8, "{m}");
    assert_eq!(m["missing"], serde_json::json!([]), "{m}");
    assert!(moto
        .keys("replaced", "exp/keys/")
        .contains(&"exp/keys/notes.txt".to_string()));
    let _ = std::fs::remove_dir_all(&dir);
}
