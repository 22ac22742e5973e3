//! The shape of a Redis radix tree (`rax.c`) holding a set of keys, computed from the sorted
//! keys alone: streams index their listpacks and pending entries by 16-byte ids in raxes, and
//! the server's memory figures depend on the tree's node count and node sizes.
//!
//! A rax node either branches (one child pointer per distinct next byte) or is compressed (a
//! run of bytes leading to a single child); every key ends in a node flagged as a key, and a
//! key that is no other key's prefix ends in an empty leaf. Inserting keys of one fixed length
//! yields the canonical form: a compressed node for every maximal single-child run.

/// Node count and allocation sizes of a rax.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RaxShape {
    /// Keys in the tree.
    pub elements: u64,
    /// Nodes in the tree (an empty tree has its root node).
    pub nodes: u64,
    /// Sum over the nodes of `size_of(node)` as `rax.c` allocates it, before allocator
    /// rounding is applied by `alloc`.
    pub node_bytes: u64,
}

/// Computes the shape of the rax holding `keys`, which must be sorted and distinct, all of
/// the same length. `alloc` maps a node's requested size to its allocated size.
pub fn shape(keys: &[[u8; 16]], alloc: &dyn Fn(u64) -> u64) -> RaxShape {
    let mut s = RaxShape {
        elements: keys.len() as u64,
        ..RaxShape::default()
    };
    if keys.is_empty() {
        s.nodes = 1;
        s.node_bytes = alloc(node_size(0, false, false));
        return s;
    }
    subtree(keys, 0, alloc, &mut s);
    s
}

/// Size of a node with `size` bytes (children or compressed run) as `raxNewNode` computes
/// it: a 4-byte header, the bytes, padding to pointer alignment, the child pointers (one for
/// a compressed node) and the value pointer of a key node.
fn node_size(size: u64, compressed: bool, key: bool) -> u64 {
    let padding = (8 - (size + 4) % 8) % 8;
    let children = if compressed { 1 } else { size };
    4 + size + padding + children * 8 + if key { 8 } else { 0 }
}

/// The node at `depth` under which all `keys` share their first `depth` bytes.
fn subtree(keys: &[[u8; 16]], depth: usize, alloc: &dyn Fn(u64) -> u64, s: &mut RaxShape) {
    if depth >= 16 {
        // Leaf: the key's end, holding its value pointer.
        s.nodes += 1;
        s.node_bytes += alloc(node_size(0, false, true));
        return;
    }
    let first = &keys[0];
    let last = &keys[keys.len() - 1];
    if first[depth] == last[depth] {
        // One child byte: a compressed node over the whole common run.
        let mut end = depth + 1;
        while end < 16 && first[end] == last[end] {
            end += 1;
        }
        s.nodes += 1;
        s.node_bytes += alloc(node_size((end - depth) as u64, true, false));
        subtree(keys, end, alloc, s);
        return;
    }
    // Several child bytes: a branching node, then each child subtree one byte deeper.
    let mut children = 0u64;
    let mut start = 0;
    while start < keys.len() {
        let b = keys[start][depth];
        let mut end = start + 1;
        while end < keys.len() && keys[end][depth] == b {
            end += 1;
        }
        children += 1;
        subtree(&keys[start..end], depth + 1, alloc, s);
        start = end;
    }
    s.nodes += 1;
    s.node_bytes += alloc(node_size(children, false, false));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ms: u64, seq: u64) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&ms.to_be_bytes());
        k[8..].copy_from_slice(&seq.to_be_bytes());
        k
    }

    #[test]
    fn small_trees() {
        let id = |n| n;
        assert_eq!(shape(&[], &id).nodes, 1);
        // One key: a compressed root of 16 bytes, then the leaf.
        assert_eq!(shape(&[key(1, 1)], &id).nodes, 2);
        // Two keys differing in the last byte: compressed root (15 bytes), a branching node
        // with two children, two leaves.
        assert_eq!(shape(&[key(1, 1), key(1, 2)], &id).nodes, 4);
        // Differing in byte 7: root run (7), branch, then a 8-byte run + leaf per key.
        let s = shape(&[key(1, 0), key(2, 0)], &id);
        assert_eq!(s.nodes, 1 + 1 + 2 * 2);
        assert_eq!(s.elements, 2);
    }

    #[test]
    fn node_sizes() {
        assert_eq!(node_size(0, false, true), 16);
        assert_eq!(node_size(16, true, false), 4 + 16 + 4 + 8);
        assert_eq!(node_size(2, false, false), 4 + 2 + 2 + 16);
    }
}
