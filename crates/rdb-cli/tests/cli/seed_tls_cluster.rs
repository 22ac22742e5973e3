//! `rdb-convert seed` over TLS against a real TLS-enabled redis-server (certificates made
//! with openssl), and verification while a cluster slot is being migrated.

use crate::common::cluster::{rdb_convert, rdb_convert_ok, Cluster};
use crate::common::server::{Kind, Server, TlsServer};
use rdb_cluster::slot::key_slot;

/// Issue #12 item 4: `rediss://` works (it panicked: rustls had no crypto provider), with
/// redis-cli's flags --cacert, --cert, --insecure (and --tls-key for the client key).
#[test]
fn seed_and_split_over_tls() {
    let src = Server::start(Kind::Redis70);
    let mut scon = src.conn();
    let mut pipe = redis::pipe();
    for i in 0..300 {
        pipe.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
        pipe.cmd("HSET")
            .arg(format!("h{i}"))
            .arg("f")
            .arg(i)
            .ignore();
    }
    pipe.query::<()>(&mut scon).unwrap();
    let dump = src.save(&mut scon);
    let dump = dump.to_str().unwrap();

    // The server asks clients for a certificate: its own (clientAuth) serves.
    let tls = TlsServer::start(true);
    let url = tls.url();
    let ca = tls.ca.to_str().unwrap().to_string();
    let cert = tls.dir.join("server.crt");
    let key = tls.dir.join("server.key");
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());

    let stderr = rdb_convert_ok(&[
        "seed",
        dump,
        "--target",
        &url,
        "--cacert",
        &ca,
        "--cert",
        cert,
        "--tls-key",
        key,
        "--verify-sample",
        "50",
        "--quiet",
    ]);
    assert!(stderr.contains("seeded 600 keys"), "{stderr}");
    assert!(stderr.contains(": OK"), "{stderr}");

    let stderr = rdb_convert_ok(&[
        "seed",
        dump,
        "--target",
        &url,
        "--insecure",
        "--cert",
        cert,
        "--tls-key",
        key,
        "--replace",
        "--quiet",
    ]);
    assert!(stderr.contains(": OK"), "{stderr}");

    // Without the CA, the server's certificate is refused: an error, not a panic.
    let out = rdb_convert(&[
        "seed",
        dump,
        "--target",
        &url,
        "--cert",
        cert,
        "--tls-key",
        key,
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("certificate"), "{stderr}");

    // TLS flags on a redis:// URL are a mistake, said so.
    let plain = format!("redis://127.0.0.1:{}", tls.port);
    let out = rdb_convert(&["seed", dump, "--target", &plain, "--cacert", &ca, "--quiet"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("rediss://"), "{stderr}");

    // split --slots-from reaches the server over TLS (and says it is not a cluster).
    let prefix = tls.dir.join("shard");
    let out = rdb_convert(&[
        "split",
        dump,
        "--slots-from",
        &url,
        "--cacert",
        &ca,
        "--cert",
        cert,
        "--tls-key",
        key,
        "--output-prefix",
        prefix.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not a cluster"), "{stderr}");
}

fn node_id(con: &mut redis::Connection) -> String {
    redis::cmd("CLUSTER").arg("MYID").query(con).unwrap()
}

/// Issue #12 item 17: a slot left half-migrated (MIGRATING on its owner, IMPORTING on
/// another primary, its keys split between them) is not counted as empty by verification.
#[test]
fn verify_follows_a_slot_being_migrated() {
    let cluster = Cluster::start(3);
    let slot = key_slot(b"mig");
    let ranges = cluster.ranges();
    let owner_port = ranges
        .iter()
        .find(|(_, r)| r.iter().any(|&(a, b)| (a..=b).contains(&slot)))
        .unwrap()
        .0;
    let owner = cluster.nodes.iter().find(|n| n.port == owner_port).unwrap();
    let other = cluster.nodes.iter().find(|n| n.port != owner_port).unwrap();
    let (mut ocon, mut icon) = (owner.conn(), other.conn());
    let (owner_id, other_id) = (node_id(&mut ocon), node_id(&mut icon));

    // Source: keys of the migrating slot and others.
    let src = Server::start(Kind::Redis70);
    let mut scon = src.conn();
    let mut pipe = redis::pipe();
    for i in 0..200 {
        pipe.cmd("SET").arg(format!("{{mig}}:{i}")).arg(i).ignore();
        pipe.cmd("SET").arg(format!("other:{i}")).arg(i).ignore();
    }
    pipe.query::<()>(&mut scon).unwrap();
    let dump = src.save(&mut scon);

    // Half of the slot's keys are on the owner before the migration starts.
    let url = owner.url();
    let mut pipe = redis::pipe();
    for i in 0..100 {
        pipe.cmd("SET").arg(format!("{{mig}}:{i}")).arg(i).ignore();
    }
    pipe.query::<()>(&mut ocon).unwrap();
    redis::cmd("CLUSTER")
        .arg("SETSLOT")
        .arg(slot)
        .arg("IMPORTING")
        .arg(&owner_id)
        .query::<()>(&mut icon)
        .unwrap();
    redis::cmd("CLUSTER")
        .arg("SETSLOT")
        .arg(slot)
        .arg("MIGRATING")
        .arg(&other_id)
        .query::<()>(&mut ocon)
        .unwrap();
    // Move 40 of them to the importing node.
    let keys: Vec<String> = (0..40).map(|i| format!("{{mig}}:{i}")).collect();
    let mut m = redis::cmd("MIGRATE");
    m.arg("127.0.0.1")
        .arg(other.port)
        .arg("")
        .arg(0)
        .arg(5000)
        .arg("KEYS")
        .arg(&keys);
    m.query::<()>(&mut ocon).unwrap();

    // The seed replaces the 100 present keys and adds the rest (following ASK).
    let stderr = rdb_convert_ok(&[
        "seed",
        dump.to_str().unwrap(),
        "--target",
        &url,
        "--replace",
        "--verify-sample",
        "400",
        "--quiet",
    ]);
    eprintln!("{stderr}");
    assert!(stderr.contains("seeded 400 keys"), "{stderr}");
    assert!(stderr.contains("400 keys expected, 400 found"), "{stderr}");
    assert!(stderr.contains(": OK"), "{stderr}");
    let on_owner: u64 = redis::cmd("CLUSTER")
        .arg("COUNTKEYSINSLOT")
        .arg(slot)
        .query(&mut ocon)
        .unwrap();
    let on_other: u64 = redis::cmd("CLUSTER")
        .arg("COUNTKEYSINSLOT")
        .arg(slot)
        .query(&mut icon)
        .unwrap();
    assert!(on_owner > 0 && on_other > 0, "{on_owner} + {on_other}");
    assert_eq!(on_owner + on_other, 200);
}
