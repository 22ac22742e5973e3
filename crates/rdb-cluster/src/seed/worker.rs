//! Async workers: each owns one connection and sends the batches it is given as one
//! pipeline at a time, following `MOVED`/`ASK`, and reports what each command did.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use rdb_format::write::Conversion;
use redis::aio::MultiplexedConnection;
use tokio::sync::mpsc;

use super::batch::{Batch, Mode, Op};
use super::report::example;
use super::tracker::Shared;
use crate::checkpoint::Pos;
use crate::error::SeedError;
use crate::show_key;
use crate::target::TargetError;

/// One connection, sending the batches it is given, one pipeline at a time.
pub(super) struct Worker {
    pub(super) shared: Arc<Shared>,
    pub(super) addr: String,
    pub(super) standalone: bool,
    /// The last big value started here, and whether its first part was restored.
    pub(super) big: Option<(u64, bool)>,
}

impl Worker {
    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Batch>) {
        let mut con = match self.shared.target.new_connection(&self.addr).await {
            Ok(c) => c,
            Err(e) => {
                self.shared.fail(e.into());
                return;
            }
        };
        let mut db: Option<u64> = None;
        while let Some(batch) = rx.recv().await {
            if self.shared.abort.load(Ordering::Relaxed) {
                break;
            }
            if let Err(e) = self.batch(&mut con, &mut db, batch).await {
                self.shared.fail(e);
                break;
            }
        }
        // Drain so the reader is never blocked on a full channel.
        rx.close();
        while rx.recv().await.is_some() {}
    }

    pub(super) async fn batch(
        &mut self,
        con: &mut MultiplexedConnection,
        db: &mut Option<u64>,
        batch: Batch,
    ) -> Result<(), SeedError> {
        let mut outcome = Outcome::default();
        if self.standalone && *db != Some(batch.db) {
            let r: redis::RedisResult<redis::Value> =
                redis::cmd("SELECT").arg(batch.db).query_async(con).await;
            match r {
                Ok(_) => *db = Some(batch.db),
                Err(e) if is_connection_error(&e) => {
                    return Err(self.lost(e));
                }
                Err(e) => {
                    let msg = format!(
                        "SELECT {}: {e} (the target has fewer databases: merge them into db 0 \
                         with --flatten-dbs, or leave some out with --db)",
                        batch.db
                    );
                    for op in &batch.ops {
                        outcome.error(op, &msg);
                    }
                    self.finish(batch, outcome);
                    return Ok(());
                }
            }
        }
        // Parts of a big value whose first part failed are not sent; its temporary key is
        // dropped instead of renamed.
        // (A Publish comes in a batch of its own, after every part was acknowledged.)
        let mut sendable: Vec<(&Op, bool)> = Vec::new();
        let mut cmds: Vec<redis::Cmd> = Vec::new();
        for op in &batch.ops {
            match op {
                Op::Part {
                    big, first: false, ..
                } if self.big != Some((*big, true)) => continue,
                Op::Publish { big, tmp, .. } if self.big != Some((*big, true)) => {
                    let mut c = redis::cmd("DEL");
                    c.arg(tmp.as_slice());
                    cmds.push(c);
                    sendable.push((op, false));
                }
                _ => {
                    cmds.push(op.cmd());
                    sendable.push((op, true));
                }
            }
        }
        if !sendable.is_empty() {
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            for c in cmds {
                pipe.add_command(c);
            }
            let results: Vec<redis::RedisResult<redis::Value>> = match pipe.query_async(con).await {
                Ok(r) => r,
                Err(e) => return Err(self.lost(e)),
            };
            for (&(op, counted), result) in sendable.iter().zip(results) {
                if !counted {
                    continue; // a Publish turned into a DEL: the failure is counted already
                }
                let result = match result {
                    Err(e) if e.redirect_node().is_some() => self.redirect(op, e).await?,
                    other => other,
                };
                self.settle(op, result, &mut outcome);
            }
        }
        self.finish(batch, outcome);
        Ok(())
    }

    pub(super) fn lost(&self, e: redis::RedisError) -> SeedError {
        SeedError::Target(TargetError::Redis {
            context: format!("sending to {}", self.addr),
            source: e,
        })
    }

    /// Follows `MOVED`/`ASK` (a few hops at most).
    pub(super) async fn redirect(
        &self,
        op: &Op,
        mut err: redis::RedisError,
    ) -> Result<redis::RedisResult<redis::Value>, SeedError> {
        for _ in 0..5 {
            let Some((addr, slot)) = err.redirect_node() else {
                return Ok(Err(err));
            };
            let addr = addr.to_string();
            let ask = err.code() == Some("ASK");
            if !ask {
                if let Some(map) = &self.shared.target.cluster {
                    if let Ok(mut m) = map.write() {
                        m.set_owner(slot, &addr);
                    }
                }
            }
            let mut con = self.shared.target.connection(&addr).await?;
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            if ask {
                pipe.cmd("ASKING").ignore();
            }
            pipe.add_command(op.cmd());
            let mut results: Vec<redis::RedisResult<redis::Value>> =
                pipe.query_async(&mut con).await.map_err(|e| {
                    SeedError::Target(TargetError::Redis {
                        context: format!("sending to {addr}"),
                        source: e,
                    })
                })?;
            let r = results.pop().unwrap_or_else(|| Ok(redis::Value::Nil));
            match r {
                Err(e) if e.redirect_node().is_some() => err = e,
                other => return Ok(other),
            }
        }
        Ok(Err(err))
    }

    pub(super) fn settle(
        &mut self,
        op: &Op,
        result: redis::RedisResult<redis::Value>,
        out: &mut Outcome,
    ) {
        match op {
            Op::Restore {
                mode,
                module,
                conversion,
                ..
            } => match &result {
                Ok(_) => {
                    out.seeded += 1;
                    match conversion {
                        Conversion::Copied => out.copied += 1,
                        _ => out.reencoded += 1,
                    }
                }
                Err(e) if e.code() == Some("BUSYKEY") => {
                    if *mode == Mode::Window {
                        out.already_present += 1;
                    } else {
                        out.conflicts += 1;
                        example(&mut out.conflict_examples, || show_key(op.key()));
                    }
                }
                Err(e) if *module && e.to_string().contains("Bad data format") => {
                    out.unsupported += 1;
                    out.failed.push(op.failed_at());
                    example(&mut out.unsupported_examples, || {
                        format!(
                            "{}: the server does not have this value's module",
                            show_key(op.key())
                        )
                    });
                }
                Err(e) => out.error(op, &e.to_string()),
            },
            Op::Part { big, first, .. } => match result {
                Ok(_) if *first => self.big = Some((*big, true)),
                Ok(_) => {}
                Err(e) => {
                    // The value will not be put in place: one error, one missing key.
                    if *first || self.big == Some((*big, true)) {
                        out.error(op, &e.to_string());
                        out.failed.push(op.failed_at());
                    }
                    self.big = Some((*big, false));
                }
            },
            Op::Publish { mode, .. } => match result {
                Ok(redis::Value::Int(1)) => {
                    out.seeded += 1;
                    out.big_values += 1;
                }
                Ok(redis::Value::Int(0)) => {
                    if *mode == Mode::Window {
                        out.already_present += 1;
                    } else {
                        out.conflicts += 1;
                        example(&mut out.conflict_examples, || show_key(op.key()));
                    }
                }
                Ok(other) => {
                    let msg = format!(
                        "the value sent in parts was not put in place (temporary key gone: {other:?})"
                    );
                    out.error(op, &msg);
                    out.failed.push(op.failed_at());
                }
                Err(e) => {
                    out.error(
                        op,
                        &format!("putting the value sent in parts in place: {e}"),
                    );
                    out.failed.push(op.failed_at());
                }
            },
            Op::Drop { .. } => {
                if let Err(e) = result {
                    out.error(
                        op,
                        &format!("dropping a temporary key of an interrupted run: {e}"),
                    );
                }
            }
        }
    }

    pub(super) fn finish(&self, batch: Batch, out: Outcome) {
        self.shared.seeded.fetch_add(out.seeded, Ordering::Relaxed);
        let mut t = self.shared.tracker();
        for a in &batch.anchors {
            t.close(*a);
        }
        let c = &mut t.counts;
        c.seeded += out.seeded;
        c.copied += out.copied;
        c.reencoded += out.reencoded;
        c.big_values += out.big_values;
        c.conflicts += out.conflicts;
        c.already_present += out.already_present;
        c.unsupported += out.unsupported;
        c.errors += out.errors;
        for (list, add) in [
            (&mut c.conflict_examples, out.conflict_examples),
            (&mut c.unsupported_examples, out.unsupported_examples),
            (&mut c.error_examples, out.error_examples),
        ] {
            for e in add {
                example(list, || e);
            }
        }
        t.failed.extend(out.failed);
    }
}

pub(super) fn is_connection_error(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout()
}

#[derive(Default)]
pub(super) struct Outcome {
    pub(super) seeded: u64,
    pub(super) copied: u64,
    pub(super) reencoded: u64,
    pub(super) big_values: u64,
    pub(super) conflicts: u64,
    pub(super) already_present: u64,
    pub(super) unsupported: u64,
    pub(super) errors: u64,
    pub(super) conflict_examples: Vec<String>,
    pub(super) unsupported_examples: Vec<String>,
    pub(super) error_examples: Vec<String>,
    pub(super) failed: Vec<(Pos, u64)>,
}

impl Outcome {
    pub(super) fn error(&mut self, op: &Op, msg: &str) {
        self.errors += 1;
        // A key whose RESTORE failed is missing (for a value sent in parts, the caller says).
        if let Op::Restore { .. } = op {
            self.failed.push(op.failed_at());
        }
        example(&mut self.error_examples, || {
            format!("{}: {msg}", show_key(op.key()))
        });
    }
}
