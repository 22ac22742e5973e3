//! Expectations of badboy/rdb-rs (`protocol/*.protocol`).
//!
//! rdb-rs `tests/dumps/protocol/*.protocol` (its "protocol" formatter): the dump replayed as RESP
//! commands, one per element: `SELECT db`, `SET k v`, `RPUSH k e`, `SADD k m`, `ZADD k score m`,
//! `HSET k f v`, `PEXPIREAT k ms` after the key. RESP is byte-exact, so values are compared as
//! bytes; scores are parsed (rdb-rs writes Rust's shortest round-trip form) and compared exactly.
//! The `plain/*.plain` files carry the same information in a lossy text form and are not compared.

use super::librdb::lr_score;
use super::*;

const RDB_RS_EXCEPTIONS: &[Exception] = &[];

fn resp_commands(b: &[u8]) -> Vec<Vec<Vec<u8>>> {
    fn line(b: &[u8], i: &mut usize, tag: u8) -> usize {
        assert_eq!(b[*i], tag, "RESP: expected {:?} at {}", tag as char, *i);
        let end = *i
            + b[*i..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("RESP line end");
        let n = std::str::from_utf8(&b[*i + 1..end])
            .unwrap()
            .parse()
            .unwrap();
        *i = end + 2;
        n
    }
    let (mut i, mut cmds) = (0, Vec::new());
    while i < b.len() {
        let n = line(b, &mut i, b'*');
        let mut args = Vec::with_capacity(n);
        for _ in 0..n {
            let l = line(b, &mut i, b'$');
            args.push(b[i..i + l].to_vec());
            i += l + 2;
        }
        cmds.push(args);
    }
    cmds
}

#[derive(Debug, Default)]
struct RespKey {
    ty: &'static str,
    elems: Vec<Vec<u8>>,
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    expire_ms: Option<i64>,
}

#[test]
fn rdb_rs_expected_protocol() {
    let dir = corpus().join("rdb-rs");
    let mut report = Report::default();
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir.join("expected/protocol"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let rdb = dir.join(name.replace(".protocol", ".rdb"));
        let ctx = format!("rdb-rs/{name}");
        let dump = match convert(&rdb) {
            Ok(d) => d,
            Err(e) => {
                report.add(&ctx, format!("rdb-convert failed: {e}"));
                continue;
            }
        };
        report.files += 1;
        // replay
        let mut exp: BTreeMap<(u64, Vec<u8>), RespKey> = BTreeMap::new();
        let mut db = 0u64;
        for c in resp_commands(&std::fs::read(&path).unwrap()) {
            let cmd = String::from_utf8_lossy(&c[0]).to_ascii_uppercase();
            if cmd == "SELECT" {
                db = String::from_utf8_lossy(&c[1]).parse().unwrap();
                continue;
            }
            let k = exp.entry((db, c[1].clone())).or_default();
            let ty = match cmd.as_str() {
                "SET" => {
                    k.elems = vec![c[2].clone()];
                    "string"
                }
                "RPUSH" | "SADD" => {
                    k.elems.extend(c[2..].iter().cloned());
                    if cmd == "RPUSH" {
                        "list"
                    } else {
                        "set"
                    }
                }
                "ZADD" | "HSET" => {
                    for p in c[2..].chunks(2) {
                        k.pairs.push((p[0].clone(), p[1].clone()));
                    }
                    if cmd == "ZADD" {
                        "zset"
                    } else {
                        "hash"
                    }
                }
                "PEXPIREAT" => {
                    k.expire_ms = Some(String::from_utf8_lossy(&c[2]).parse().unwrap());
                    k.ty
                }
                other => panic!("{ctx}: unexpected command {other}"),
            };
            assert!(
                k.ty.is_empty() || k.ty == ty,
                "{ctx}: mixed commands for one key"
            );
            k.ty = ty;
        }
        let mut n = 0;
        for ((db, key), e) in &exp {
            n += 1;
            let kctx = format!("{ctx}: db{db} key {}", show(key));
            let found = dump.find(Some(*db), key);
            let [k] = found.as_slice() else {
                report.add(&kctx, format!("{} keys of ours match", found.len()));
                continue;
            };
            if k.ty != e.ty {
                report.add(&kctx, format!("type: ours {} expected {}", k.ty, e.ty));
                continue;
            }
            if k.expire_ms != e.expire_ms {
                report.add(
                    &kctx,
                    format!("expiry: ours {:?} expected {:?}", k.expire_ms, e.expire_ms),
                );
            }
            let same = match e.ty {
                "string" => vec![bytes(&k.value)] == e.elems,
                "list" => list_of(&k.value) == e.elems,
                "set" => {
                    let (mut a, mut b) = (list_of(&k.value), e.elems.clone());
                    a.sort();
                    b.sort();
                    a == b
                }
                "hash" => hash_of(&k.value) == e.pairs.iter().cloned().collect::<BTreeMap<_, _>>(),
                "zset" => {
                    let a: BTreeMap<Vec<u8>, u64> = zset_of(&k.value)
                        .into_iter()
                        .map(|(m, s)| (m, s.to_bits()))
                        .collect();
                    let b: BTreeMap<Vec<u8>, u64> = e
                        .pairs
                        .iter()
                        .map(|(s, m)| {
                            (
                                m.clone(),
                                lr_score(std::str::from_utf8(s).unwrap()).to_bits(),
                            )
                        })
                        .collect();
                    a == b
                }
                _ => unreachable!(),
            };
            if !same {
                report.add(
                    &kctx,
                    format!(
                        "{} value differs: ours {}",
                        e.ty,
                        trunc(&k.value.to_string(), 300)
                    ),
                );
            }
        }
        for k in &dump.keys {
            if !exp.contains_key(&(k.db, k.key.clone())) {
                report.add(
                    &ctx,
                    format!(
                        "db{} key {} in our output but not in the expectation",
                        k.db,
                        show(&k.key)
                    ),
                );
            }
        }
        report.keys += n;
        report.per_file.push(format!("{name}: {n} keys"));
    }
    report.per_file.push(
        "not compared: expected/plain/*.plain (same content as .protocol, lossy text)".into(),
    );
    report.finish("rdb-rs expected protocol", RDB_RS_EXCEPTIONS);
}
