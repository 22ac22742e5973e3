//! Quicklist: a list stored as a sequence of nodes. Version 1 (`LIST_QUICKLIST`) nodes are
//! ziplists; version 2 (`LIST_QUICKLIST_2`) nodes are listpacks (`PACKED`) or single elements
//! (`PLAIN`). Any node may be LZF-compressed.

use crate::consts::*;
use crate::error::{ErrorKind, Result};
use crate::read::blob::blob;
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
                self.node = Node::Plain(s.located(at).decode(self.scratch)?);
            }
            QUICKLIST_NODE_CONTAINER_PACKED => {
                let (rest, b, o) = blob(self.rest, &self.origin, self.scratch, "quicklist node")?;
                self.rest = rest;
                self.node = if self.v2 {
                    Node::Listpack(Listpack::new(b, o)?)
                } else {
                    Node::Ziplist(Ziplist::new(b, o)?)
                };
            }
            other => {
                return Err(self.origin.error(Fail {
                    at: self.rest,
                    context: "quicklist node",
                    kind: ErrorKind::Invalid(format!("unknown container {other}").into()),
                }))
            }
        }
        Ok(())
    }
}

impl<'b> Iterator for Quicklist<'b> {
    type Item = Result<Str<'b>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let item = match &mut self.node {
                Node::None => None,
                Node::Ziplist(z) => z.next(),
                Node::Listpack(l) => l.next(),
                Node::Plain(s) => {
                    let s = *s;
                    self.node = Node::None;
                    return Some(Ok(s));
                }
            };
            match item {
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
