//! Batching: the commands a record becomes ([`Op`]), grouped into pipelines ([`Batch`])
//! per destination and handed to that destination's workers round-robin.

use std::sync::atomic::Ordering;

use rdb_format::write::Conversion;
use tokio::sync::mpsc;

use super::reader::{ReadState, Reader};
use super::worker::Worker;
use crate::checkpoint::Pos;
use crate::commands::{restore_args, to_cmd};
use crate::error::SeedError;
use crate::partial;

/// How a `RESTORE` is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// An existing key is a conflict.
    Normal,
    /// Resuming: an existing key was restored by the interrupted run.
    Window,
}

pub(super) enum Op {
    Restore {
        key: Vec<u8>,
        ttl: i64,
        payload: Vec<u8>,
        replace: bool,
        mode: Mode,
        module: bool,
        /// Copied or re-encoded (counted once the target has acknowledged it).
        conversion: Conversion,
        at: Pos,
        bucket: u64,
    },
    /// A command building big value number `big` under its temporary key; the first one
    /// (`RESTORE tmp 0 ... REPLACE`) starts it, the others are sent only if it succeeded.
    Part {
        big: u64,
        first: bool,
        cmd: redis::Cmd,
        key: Vec<u8>,
        at: Pos,
        bucket: u64,
    },
    /// Renames big value `big` onto its key with its TTL ([`partial::PUBLISH_SCRIPT`]), or
    /// drops the temporary key when a part failed.
    Publish {
        big: u64,
        tmp: Vec<u8>,
        key: Vec<u8>,
        ttl: i64,
        replace: bool,
        mode: Mode,
        at: Pos,
        bucket: u64,
    },
    /// Drops the temporary key an interrupted run left for a value no longer sent.
    Drop { tmp: Vec<u8>, at: Pos, bucket: u64 },
}

impl Op {
    pub(super) fn cmd(&self) -> redis::Cmd {
        match self {
            Op::Restore {
                key,
                ttl,
                payload,
                replace,
                ..
            } => to_cmd(restore_args(key, *ttl, payload, *replace)),
            Op::Part { cmd, .. } => cmd.clone(),
            Op::Publish {
                tmp,
                key,
                ttl,
                replace,
                ..
            } => partial::publish_cmd(tmp, key, *replace, *ttl),
            Op::Drop { tmp, .. } => {
                let mut c = redis::cmd("DEL");
                c.arg(tmp.as_slice());
                c
            }
        }
    }

    pub(super) fn key(&self) -> &[u8] {
        match self {
            Op::Restore { key, .. } | Op::Part { key, .. } | Op::Publish { key, .. } => key,
            Op::Drop { tmp, .. } => tmp,
        }
    }

    pub(super) fn failed_at(&self) -> (Pos, u64) {
        match self {
            Op::Restore { at, bucket, .. }
            | Op::Part { at, bucket, .. }
            | Op::Publish { at, bucket, .. }
            | Op::Drop { at, bucket, .. } => (*at, *bucket),
        }
    }
}

pub(super) struct Batch {
    pub(super) db: u64,
    pub(super) ops: Vec<Op>,
    pub(super) bytes: usize,
    /// Positions opened in the tracker for this batch, closed when it is acknowledged.
    pub(super) anchors: Vec<Pos>,
}

impl Batch {
    pub(super) fn new(db: u64) -> Batch {
        Batch {
            db,
            ops: Vec::new(),
            bytes: 0,
            anchors: Vec::new(),
        }
    }
}

/// Workers for one destination (the server, or one primary), used round-robin.
pub(super) struct Group {
    pub(super) senders: Vec<mpsc::Sender<Batch>>,
    pub(super) next: usize,
    pub(super) open: Option<Batch>,
}

pub(super) type Workers = Vec<tokio::task::JoinHandle<()>>;

impl Reader {
    pub(super) fn group<'s>(&self, st: &'s mut ReadState, g: usize) -> &'s mut Group {
        if !st.groups.contains_key(&g) {
            let addr = match &self.map {
                None => self.shared.target.addr(),
                Some(_) => self
                    .shared
                    .target
                    .slot_map()
                    .and_then(|m| m.nodes.get(g).cloned())
                    .unwrap_or_else(|| self.shared.target.addr()),
            };
            let mut senders = Vec::new();
            for _ in 0..self.options.parallel.max(1) {
                let (tx, rx) = mpsc::channel::<Batch>(2);
                let w = Worker {
                    shared: self.shared.clone(),
                    addr: addr.clone(),
                    standalone: self.map.is_none(),
                    big: None,
                };
                st.workers.push(self.handle.spawn(w.run(rx)));
                senders.push(tx);
            }
            st.groups.insert(
                g,
                Group {
                    senders,
                    next: 0,
                    open: None,
                },
            );
        }
        match st.groups.get_mut(&g) {
            Some(group) => group,
            None => unreachable!("inserted above"),
        }
    }

    pub(super) fn pick_worker(&self, st: &mut ReadState, g: usize, _db: u64) -> usize {
        let group = self.group(st, g);
        let w = group.next % group.senders.len();
        group.next = group.next.wrapping_add(1);
        w
    }

    /// Adds a command to the open batch of group `g`, sending the batch when full.
    pub(super) fn push(
        &self,
        st: &mut ReadState,
        g: usize,
        db: u64,
        op: Op,
        at: Pos,
    ) -> Result<(), SeedError> {
        let (max_keys, max_bytes) = (self.options.batch_keys.max(1), self.options.batch_bytes);
        let group = self.group(st, g);
        if group.open.as_ref().is_some_and(|b| b.db != db) {
            self.dispatch(st, g)?;
        }
        let group = self.group(st, g);
        let batch = group.open.get_or_insert_with(|| Batch::new(db));
        if batch.anchors.is_empty() {
            batch.anchors.push(at);
            self.shared.tracker().open(at);
        }
        if let Op::Restore { payload, .. } = &op {
            batch.bytes += payload.len() + op.key().len();
        }
        batch.ops.push(op);
        if batch.ops.len() >= max_keys || batch.bytes >= max_bytes {
            self.dispatch(st, g)?;
        }
        Ok(())
    }

    /// Sends the open batch of group `g` to its next worker.
    pub(super) fn dispatch(&self, st: &mut ReadState, g: usize) -> Result<(), SeedError> {
        let has_ops = st
            .groups
            .get(&g)
            .and_then(|group| group.open.as_ref())
            .is_some_and(|b| !b.ops.is_empty());
        if !has_ops {
            return Ok(());
        }
        self.lease(st)?;
        let Some(group) = st.groups.get_mut(&g) else {
            return Ok(());
        };
        let Some(batch) = group.open.take() else {
            return Ok(());
        };
        let w = group.next % group.senders.len();
        group.next = group.next.wrapping_add(1);
        if group.senders[w].blocking_send(batch).is_err() {
            self.shared.abort.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Sends a batch of a big value to a given worker; its anchor is opened here.
    pub(super) fn send(
        &self,
        st: &mut ReadState,
        g: usize,
        w: usize,
        mut batch: Batch,
        at: Pos,
    ) -> Result<(), SeedError> {
        self.lease(st)?;
        batch.anchors.push(at);
        self.shared.tracker().open(at);
        let group = self.group(st, g);
        if let Some(tx) = group.senders.get(w) {
            if tx.blocking_send(batch).is_err() {
                self.shared.abort.store(true, Ordering::SeqCst);
            }
        }
        Ok(())
    }
}
