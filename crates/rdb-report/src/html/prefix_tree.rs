//! Memory by key prefix at every depth: a tree of prefixes, bounded in nodes.

use std::collections::HashMap;

use crate::top::Totals;

/// Prefix levels followed below the root; deeper segments count at this depth.
pub const MAX_DEPTH: usize = 16;

/// One prefix: its segment (separator included) and the totals of all keys under it.
#[derive(Clone, Debug)]
pub struct PrefixNode {
    /// Index of the parent node (the root is its own parent).
    pub parent: usize,
    /// This level's segment, e.g. `user:`.
    pub segment: Vec<u8>,
    /// Keys under this prefix, at any depth.
    pub totals: Totals,
}

/// A tree of key prefixes. Node 0 is the root (all keys). When `max_nodes` is reached, keys
/// of new prefixes count at their deepest known ancestor.
#[derive(Clone, Debug)]
pub struct PrefixTree {
    nodes: Vec<PrefixNode>,
    children: HashMap<(usize, Vec<u8>), usize>,
    max_nodes: usize,
}

impl PrefixTree {
    /// An empty tree of at most `max_nodes` nodes (at least the root).
    pub fn new(max_nodes: usize) -> Self {
        PrefixTree {
            nodes: vec![PrefixNode {
                parent: 0,
                segment: Vec::new(),
                totals: Totals::default(),
            }],
            children: HashMap::new(),
            max_nodes: max_nodes.max(1),
        }
    }

    /// The nodes, parents before children; node 0 is the root.
    pub fn nodes(&self) -> &[PrefixNode] {
        &self.nodes
    }

    /// Whether new prefixes were refused for lack of room.
    pub fn is_full(&self) -> bool {
        self.nodes.len() >= self.max_nodes
    }

    /// Counts one key under each of its prefixes (split after every separator).
    pub fn add(&mut self, key: &[u8], separators: &[Vec<u8>], totals: &Totals) {
        let mut node = 0;
        self.nodes[0].totals.merge(totals);
        let mut start = 0;
        let mut depth = 0;
        while depth < MAX_DEPTH {
            let Some(end) = next_segment_end(key, start, separators) else {
                break;
            };
            match self.child(node, &key[start..end]) {
                Some(child) => node = child,
                None => break,
            }
            self.nodes[node].totals.merge(totals);
            start = end;
            depth += 1;
        }
    }

    /// The child of `parent` for `segment`, made if there is room.
    fn child(&mut self, parent: usize, segment: &[u8]) -> Option<usize> {
        // Look up without allocating a key for the common case of a known prefix.
        if let Some(&i) = self.children.get(&(parent, segment.to_vec())) {
            return Some(i);
        }
        if self.is_full() {
            return None;
        }
        let i = self.nodes.len();
        self.nodes.push(PrefixNode {
            parent,
            segment: segment.to_vec(),
            totals: Totals::default(),
        });
        self.children.insert((parent, segment.to_vec()), i);
        Some(i)
    }

    /// Adds another tree's totals (a chunk's) node by node.
    pub fn merge(&mut self, other: &PrefixTree) {
        let mut mapped = vec![0usize; other.nodes.len()];
        self.nodes[0].totals.merge(&other.nodes[0].totals);
        for (i, n) in other.nodes.iter().enumerate().skip(1) {
            let parent = mapped[n.parent];
            let at = if parent == usize::MAX {
                None
            } else {
                self.child(parent, &n.segment)
            };
            match at {
                Some(at) => {
                    self.nodes[at].totals.merge(&n.totals);
                    mapped[i] = at;
                }
                // No room: its keys are counted in its ancestors already.
                None => mapped[i] = usize::MAX,
            }
        }
    }

    /// Children of every node, biggest memory first.
    pub fn children_by_memory(&self) -> Vec<Vec<usize>> {
        let mut children = vec![Vec::new(); self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate().skip(1) {
            children[n.parent].push(i);
        }
        for c in &mut children {
            c.sort_unstable_by(|&a, &b| {
                self.nodes[b]
                    .totals
                    .memory
                    .cmp(&self.nodes[a].totals.memory)
                    .then_with(|| self.nodes[a].segment.cmp(&self.nodes[b].segment))
            });
        }
        children
    }

    /// The full prefix of node `i` (its ancestors' segments and its own).
    pub fn full_prefix(&self, mut i: usize) -> Vec<u8> {
        let mut parts = Vec::new();
        while i != 0 {
            parts.push(&self.nodes[i].segment);
            i = self.nodes[i].parent;
        }
        parts.into_iter().rev().flatten().copied().collect()
    }
}

/// Where the segment starting at `start` ends (after its separator), if a separator follows.
fn next_segment_end(key: &[u8], start: usize, separators: &[Vec<u8>]) -> Option<usize> {
    let mut i = start;
    while i < key.len() {
        for sep in separators {
            if !sep.is_empty() && key[i..].starts_with(sep) {
                return Some(i + sep.len());
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(memory: u64) -> Totals {
        Totals {
            keys: 1,
            memory,
            elements: 1,
            size: 1,
        }
    }

    #[test]
    fn splits_on_every_separator() {
        let seps = vec![b":".to_vec(), b"/".to_vec()];
        let mut tree = PrefixTree::new(100);
        tree.add(b"user:1/cart", &seps, &t(10));
        tree.add(b"user:2", &seps, &t(5));
        tree.add(b"plain", &seps, &t(1));
        let n = tree.nodes();
        assert_eq!(n[0].totals.memory, 16);
        assert_eq!(n[1].segment, b"user:");
        assert_eq!(n[1].totals.memory, 15);
        assert_eq!(n[2].segment, b"1/");
        assert_eq!(tree.full_prefix(2), b"user:1/");
        assert_eq!(n.len(), 3);
    }

    #[test]
    fn bounded_and_mergeable() {
        let seps = vec![b":".to_vec()];
        let mut a = PrefixTree::new(2);
        a.add(b"a:x", &seps, &t(1));
        a.add(b"b:x", &seps, &t(2));
        assert_eq!(a.nodes().len(), 2);
        assert_eq!(a.nodes()[0].totals.memory, 3);
        let mut b = PrefixTree::new(10);
        b.add(b"a:1:x", &seps, &t(4));
        a.merge(&b);
        assert_eq!(a.nodes()[0].totals.memory, 7);
        assert_eq!(a.nodes()[1].totals.memory, 5);
        assert_eq!(a.nodes().len(), 2);
    }
}
