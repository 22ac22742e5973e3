//! Streams: listpack nodes, radix trees, consumer groups and their pending entries.

use super::*;

impl MemoryModel {
    // ---------------------------------------------------------------- streams

    pub(super) fn stream(
        &self,
        o: &Obj,
        r: &Record<'_>,
        s: &Stream<'_>,
        scratch: &Scratch,
    ) -> Result<KeyMemory, ReportError> {
        let (mut elements, mut largest) = (0u64, 0u64);
        for e in s.entries() {
            let e = e?;
            elements += 1;
            for f in e.fields {
                let (field, value) = f?;
                largest = largest.max(slen(field)).max(slen(value));
            }
        }
        let nodes = stream_nodes(r, scratch)?;
        let mut total = self.header(o) + self.layout.stream;
        let keys: Vec<[u8; 16]> = nodes.iter().map(|n| n.0).collect();
        total += self.rax(&keys);
        total += nodes.iter().map(|n| self.blob(n.1)).sum::<u64>();
        let (cg, consumer) = (self.layout.consumer_group, self.layout.consumer);
        for g in s.groups() {
            let g = g?;
            let mut pel = Vec::new();
            for p in g.pending {
                pel.push(id_key(p?.id));
            }
            pel.sort_unstable();
            pel.dedup();
            total += cg + self.rax(&pel) + STREAM_NACK * pel.len() as u64;
            for c in g.consumers {
                let c = c?;
                let mut cpel: Vec<[u8; 16]> = c.pending.map(id_key).collect();
                cpel.sort_unstable();
                cpel.dedup();
                total += consumer + slen(c.name) + self.rax(&cpel);
            }
        }
        Ok(KeyMemory {
            bytes: total,
            encoding: "stream",
            elements,
            largest_element: largest,
        })
    }

    /// A stream radix tree as the server counts it: Redis estimates 16 bytes per element and
    /// 244 per node; Valkey counts its real node allocations.
    pub(super) fn rax(&self, keys: &[[u8; 16]]) -> u64 {
        if self.layout.hash_table == HashTable::Valkey {
            let a = |n| self.a(n);
            let s = rax::shape(keys, &a);
            self.a(VK_RAX) + s.node_bytes
        } else {
            let s = rax::shape(keys, &|n| n);
            s.elements * STREAM_ID + s.nodes * RAX_NODE_ESTIMATE
        }
    }
}

fn id_key(id: StreamId) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&id.ms.to_be_bytes());
    k[8..].copy_from_slice(&id.seq.to_be_bytes());
    k
}

/// A stream's listpack nodes: (master id key, listpack size), sorted by master id.
fn stream_nodes(r: &Record<'_>, scratch: &Scratch) -> Result<Vec<([u8; 16], u64)>, ReportError> {
    let Layout::Stream(nodes) = r.layout(scratch)? else {
        return Err(layout_mismatch(r));
    };
    let mut nodes: Vec<_> = nodes
        .iter()
        .map(|n| (id_key(n.master_id), n.listpack.len()))
        .collect();
    nodes.sort_unstable_by_key(|a| a.0);
    Ok(nodes)
}
