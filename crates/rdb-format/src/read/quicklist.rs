//! Quicklist: a list stored as a sequence of nodes. Version 1 (`LIST_QUICKLIST`) nodes are
//! ziplists; version 2 (`LIST_QUICKLIST_2`) nodes are listpacks (`PACKED`) or single elements
//! (`PLAIN`). Any node may be LZF-compressed.

use crate::consts::*;
use crate::error::{Error, ErrorKind, Result};
use crate::read::blob::{blob, blob_into};
use crate::read::listpack::Listpack;
use crate::read::string::{Scratch, Str};
use crate::read::ziplist::Ziplist;
use crate::read::{count, finish, length, rdb_string, Fail, Origin};

/// A lazy iterator over the elements of a quicklist, node by node.
#[derive(Clone, Debug)]
pub struct Quicklist<'b> {
    rest: &'b [u8],
    remaining: u64,
    v2: bool,
    origin: Origin<'b>,
    scratch: &'b Scratch,
    node: Node<'b>,
}

#[derive(Clone, Debug)]
enum Node<'b> {
    None,
    Ziplist(Ziplist<'b>),
    Listpack(Listpack<'b>),
    Plain(Str<'b>),
}

impl<'b> Quicklist<'b> {
    pub(crate) fn new(
        input: &'b [u8],
        origin: Origin<'b>,
        scratch: &'b Scratch,
        v2: bool,
    ) -> Result<Self> {
        let (rest, n) = finish(&origin, count(input, 1, "quicklist length"))?;
        Ok(Quicklist {
            rest,
            remaining: n,
            v2,
            origin,
            scratch,
            node: Node::None,
        })
    }

    fn load_node(&mut self) -> Result<()> {
        self.node = self.read_node(Dest::Scratch(self.scratch))?;
        Ok(())
    }

    /// Reads the next node, its compressed data decompressed into `dest`.
    fn read_node<'o>(&mut self, dest: Dest<'b, 'o>) -> Result<Node<'o>>
    where
        'b: 'o,
    {
        self.remaining -= 1;
        let container = if self.v2 {
            let (rest, c) = finish(&self.origin, length(self.rest))?;
            self.rest = rest;
            c
        } else {
            QUICKLIST_NODE_CONTAINER_PACKED
        };
        match container {
            QUICKLIST_NODE_CONTAINER_PLAIN => {
                let at = self.origin.offset_of(self.rest);
                let (rest, s) = finish(&self.origin, rdb_string(self.rest))?;
                self.rest = rest;
                let s = s.located(at);
                Ok(Node::Plain(match dest {
                    Dest::Scratch(scratch) => s.decode(scratch)?,
                    Dest::Reused(buf) => s.decode_into(buf)?,
                }))
            }
            QUICKLIST_NODE_CONTAINER_PACKED => {
                let (rest, b, o): (&'b [u8], &'o [u8], Origin<'o>) = match dest {
                    Dest::Scratch(scratch) => blob(self.rest, &self.origin, scratch, NODE)?,
                    Dest::Reused(buf) => blob_into(self.rest, &self.origin, buf, NODE)?,
                };
                self.rest = rest;
                Ok(if self.v2 {
                    Node::Listpack(Listpack::new(b, o)?)
                } else {
                    Node::Ziplist(Ziplist::new(b, o)?)
                })
            }
            other => Err(self.origin.error(Fail {
                at: self.rest,
                context: "quicklist node",
                kind: ErrorKind::Invalid(format!("unknown container {other}").into()),
            })),
        }
    }

    /// Calls `f` with each remaining element, decompressing nodes into one buffer reused
    /// from node to node (see [`crate::value::List::try_for_each_element`]).
    pub(crate) fn try_for_each_element<E: From<Error>>(
        mut self,
        f: &mut dyn FnMut(Str<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        // The node in hand, if the iterator was advanced.
        let mut node = std::mem::replace(&mut self.node, Node::None);
        while let Some(item) = node.next_element() {
            f(item?)?;
        }
        let mut buf = Vec::new();
        while self.remaining > 0 {
            let mut node = self.read_node(Dest::Reused(&mut buf))?;
            while let Some(item) = node.next_element() {
                f(item?)?;
            }
        }
        Ok(())
    }
}

/// Where a node's compressed data is decompressed to.
enum Dest<'b, 'o> {
    /// The record's scratch: the node lives as long as the record.
    Scratch(&'b Scratch),
    /// A buffer reused from node to node.
    Reused(&'o mut Vec<u8>),
}

const NODE: &str = "quicklist node";

impl<'n> Node<'n> {
    /// The node's next element; `None` once it has none left.
    fn next_element(&mut self) -> Option<Result<Str<'n>>> {
        match self {
            Node::None => None,
            Node::Ziplist(z) => z.next(),
            Node::Listpack(l) => l.next(),
            Node::Plain(s) => {
                let s = *s;
                *self = Node::None;
                Some(Ok(s))
            }
        }
    }
}

impl<'b> Iterator for Quicklist<'b> {
    type Item = Result<Str<'b>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.node.next_element() {
                Some(Err(e)) => {
                    self.remaining = 0;
                    self.node = Node::None;
                    return Some(Err(e));
                }
                Some(ok) => return Some(ok),
                None => {}
            }
            if self.remaining == 0 {
                return None;
            }
            if let Err(e) = self.load_node() {
                self.remaining = 0;
                self.node = Node::None;
                return Some(Err(e));
            }
        }
    }
}
