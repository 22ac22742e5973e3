//! Checkpoint tracking: which records are still in flight, what the workers counted, and
//! the checkpoint file written from that (a position before which everything is settled).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use super::reader::{ReadState, Reader};
use super::report::Counts;
use crate::checkpoint::{Checkpoint, Pos};
use crate::error::SeedError;
use crate::target::Target;

/// Shared between the reader and the workers.
pub(super) struct Shared {
    pub(super) target: Target,
    pub(super) tracker: Mutex<Tracker>,
    pub(super) seeded: AtomicU64,
    pub(super) abort: AtomicBool,
    pub(super) fatal: Mutex<Option<SeedError>>,
}

#[derive(Default)]
pub(super) struct Tracker {
    pub(super) open: BTreeMap<Pos, u32>,
    pub(super) counts: Counts,
    pub(super) failed: Vec<(Pos, u64)>,
}

impl Tracker {
    pub(super) fn open(&mut self, at: Pos) {
        *self.open.entry(at).or_default() += 1;
    }

    pub(super) fn close(&mut self, at: Pos) {
        if let Some(n) = self.open.get_mut(&at) {
            *n -= 1;
            if *n == 0 {
                self.open.remove(&at);
            }
        }
    }
}

impl Shared {
    pub(super) fn tracker(&self) -> std::sync::MutexGuard<'_, Tracker> {
        match self.tracker.lock() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub(super) fn fail(&self, e: SeedError) {
        self.abort.store(true, Ordering::SeqCst);
        let mut f = match self.fatal.lock() {
            Ok(f) => f,
            Err(p) => p.into_inner(),
        };
        if f.is_none() {
            *f = Some(e);
        }
    }
}

impl Reader {
    pub(super) fn save_checkpoint(
        &self,
        st: &ReadState,
        resume_high: Option<Pos>,
    ) -> Result<(), SeedError> {
        let Some(path) = &self.options.checkpoint else {
            return Ok(());
        };
        let (done, seeded, failed) = {
            let t = self.shared.tracker();
            // Records before the resumed checkpoint's `done` are settled, not sent again.
            let done = match t.open.keys().next() {
                Some(p) => (*p).min(st.summary.cursor),
                None => st.summary.cursor,
            }
            .max(self.resume.as_ref().map_or((0, 0), |c| c.done));
            let failed = t
                .failed
                .iter()
                .copied()
                .filter(|(p, _)| *p < done)
                .collect();
            (done, t.counts.seeded, failed)
        };
        let c = Checkpoint {
            target: self.target_name.clone(),
            files: self.inputs.clone(),
            done,
            high: st.summary.high.max(resume_high.unwrap_or((0, 0))),
            complete: false,
            seeded: self.resume.as_ref().map_or(0, |c| c.seeded) + seeded,
            failed,
        };
        c.save(path)?;
        Ok(())
    }

    /// Before anything past the checkpoint's `high` is sent, the checkpoint says so: after a
    /// kill, a resumed run then knows every key the target may have from us (no false
    /// conflicts), and none it cannot have (real conflicts stay conflicts).
    pub(super) fn lease(&self, st: &mut ReadState) -> Result<(), SeedError> {
        if self.options.checkpoint.is_some() && st.summary.high > st.leased {
            self.save_checkpoint(st, self.resume.as_ref().map(|c| c.high))?;
            st.leased = st.summary.high;
        }
        Ok(())
    }
}
