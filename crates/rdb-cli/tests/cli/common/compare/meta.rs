//! Comparing functions and aux fields.

use super::*;

pub(super) fn compare_functions(
    kind: Kind,
    con: &mut Connection,
    dump: &Dump,
    mm: &mut Mismatches,
) {
    if !kind.caps().functions {
        if !dump.functions.is_empty() {
            mm.add(
                "functions",
                format!(
                    "{} function lines but {} has no functions",
                    dump.functions.len(),
                    kind.label()
                ),
            );
        }
        return;
    }
    let reply = C::new("FUNCTION").a("LIST").a("WITHCODE").run(con);
    let mut server: Vec<String> = varr(&reply)
        .iter()
        .map(|l| vstr(&vmap(l)["library_code"]))
        .collect();
    let mut json = dump.functions.clone();
    server.sort();
    json.sort();
    if server != json {
        let f = |v: &[String]| {
            v.iter()
                .map(|s| trunc(s, 60))
                .collect::<Vec<_>>()
                .join(" | ")
        };
        mm.add(
            "functions",
            format!(
                "FUNCTION LIST library_code: [{}], JSON function lines: [{}]",
                f(&server),
                f(&json)
            ),
        );
    }
}

pub(super) fn compare_aux(server: &Server, con: &mut Connection, dump: &Dump, mm: &mut Mismatches) {
    let version = server.version(con);
    let want: &[u8] = if server.kind.is_valkey() {
        b"valkey-ver"
    } else {
        b"redis-ver"
    };
    let found: Vec<&Vec<u8>> = dump
        .aux
        .iter()
        .filter(|(k, _)| k == want)
        .map(|(_, v)| v)
        .collect();
    if found.len() != 1 || found[0] != version.as_bytes() {
        mm.add(
            "aux",
            format!(
                "expected one aux {} = {version:?}, JSON has {:?}",
                String::from_utf8_lossy(want),
                found.iter().map(|v| show(v)).collect::<Vec<_>>()
            ),
        );
    }
    if !dump
        .aux
        .iter()
        .any(|(k, v)| k == b"redis-bits" && v == b"64")
    {
        mm.add("aux", "no aux redis-bits = 64");
    }
}
