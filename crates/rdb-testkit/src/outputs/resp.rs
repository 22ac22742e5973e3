//! `out_resp`: the RESP output (`--format resp`) over a dump.

use rdb_cluster::resp::{Expiry, RespMode, RespOptions, RespSink};

/// Both modes, with small parts so that big-value splitting is reached by fuzz-sized values.
fn options(mode: RespMode, data: &[u8]) -> RespOptions {
    RespOptions {
        mode,
        max_payload: 64,
        part_bytes: 32,
        // Dropped TTLs keep expired keys, so the output does not depend on the clock.
        expiry: Expiry::Drop,
        flatten_dbs: data.len().is_multiple_of(2),
        ..RespOptions::default()
    }
}

/// The output's lines, sorted.
fn sorted_lines(out: &[u8]) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
    lines.sort_unstable();
    lines.join(&b'\n')
}

/// The output is whole RESP arrays of bulk strings and nothing else.
fn check_resp(out: &[u8]) {
    let mut rest = out;
    let number = |rest: &mut &[u8], lead: u8| -> usize {
        assert_eq!(
            rest.first(),
            Some(&lead),
            "RESP: expected {:?}",
            lead as char
        );
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("RESP: CRLF");
        let n = std::str::from_utf8(&rest[1..end]).unwrap().parse().unwrap();
        *rest = &rest[end + 2..];
        n
    };
    while !rest.is_empty() {
        let args = number(&mut rest, b'*');
        assert!(args >= 1, "RESP: a command without arguments");
        for _ in 0..args {
            let len = number(&mut rest, b'$');
            assert!(
                rest.len() >= len + 2 && &rest[len..len + 2] == b"\r\n",
                "RESP: bulk string cut"
            );
            rest = &rest[len + 2..];
        }
    }
}

/// The `out_resp` target: both modes, one chunk and the pipeline.
pub fn run(data: &[u8]) {
    for mode in [RespMode::Restore, RespMode::Commands] {
        let direct = RespSink::new(Vec::new(), options(mode, data));
        let parallel = RespSink::new(Vec::new(), options(mode, data));
        let (direct_result, parallel_result) = super::both_ways(data, &direct, &parallel);
        let direct_out = direct.finish().unwrap();
        let parallel_out = parallel.finish().unwrap();
        // A chunk holding only a function library writes its `FUNCTION LOAD` before the
        // next chunk's `SELECT`, one chunk after it: the same commands, in another order
        // that replays the same. Compared as sorted lines.
        super::check_runs(
            data,
            &direct_result,
            &parallel_result,
            &sorted_lines(&direct_out),
            &sorted_lines(&parallel_out),
        );
        if direct_result.is_ok() {
            check_resp(&direct_out);
        }
    }
}
