//! The generator's small choices (widths, LZF wrapping, unknown counts) and the writers that
//! apply them.

use rdb_format::owned::OwnedStr;

use super::{Elem, ModOp};
use crate::fuzz::build::{self, LenForm, LpValue, ModuleOp};

/// The small choices: a xorshift generator seeded by the spec.
pub(super) struct Style(pub(super) u64);

impl Style {
    pub(super) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub(super) fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
    pub(super) fn form(&mut self) -> LenForm {
        match self.next() % 24 {
            0 => LenForm::Bits14,
            1 => LenForm::Bits32,
            2 => LenForm::Bits64,
            _ => LenForm::Shortest,
        }
    }
    pub(super) fn len(&mut self, n: u64, out: &mut Vec<u8>) {
        let f = self.form();
        build::rdb_len(n, f, out);
    }

    /// An RDB string holding `e`: int-encoded when allowed and possible, else raw or LZF.
    pub(super) fn string(&mut self, e: &Elem, allow_int: bool, out: &mut Vec<u8>) -> OwnedStr {
        let int = match e {
            Elem::Int(i) => i32::try_from(*i).ok(),
            Elem::Small(u) => Some(i32::from(*u)),
            _ => None,
        };
        if let (Some(i), true) = (int, allow_int) {
            if !self.one_in(8) {
                let w = [1, 1, 1, 2, 4][(self.next() % 5) as usize];
                build::rdb_string_int(i, w, out);
                return OwnedStr::Int(i64::from(i));
            }
        }
        let bytes = match e {
            Elem::Small(u) => u.to_string().into_bytes(),
            other => other.bytes(),
        };
        self.blob(&bytes, out);
        OwnedStr::Bytes(bytes)
    }

    /// An RDB string holding a blob: raw, or LZF-compressed.
    pub(super) fn blob(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let form = self.form();
        match self.next() % 4 {
            0 => build::rdb_string_lzf(bytes, false, form, out),
            1 => build::rdb_string_lzf(bytes, true, form, out),
            _ => build::rdb_string_raw(bytes, form, out),
        }
    }

    pub(super) fn listpack(&mut self, values: &[LpValue]) -> Vec<u8> {
        let seed = self.next();
        let unknown = self.one_in(8);
        build::listpack_of(values, |i| width_of(seed, i), unknown)
    }

    pub(super) fn ziplist(&mut self, values: &[LpValue]) -> Vec<u8> {
        let seed = self.next();
        let unknown = self.one_in(8);
        build::ziplist(values, |i| width_of(seed, i), unknown)
    }

    pub(super) fn module_ops(&mut self, ops: &[ModOp], out: &mut Vec<u8>) {
        let mut built = Vec::with_capacity(ops.len());
        for op in ops {
            built.push(match op {
                ModOp::Sint(v) => ModuleOp::Sint(*v),
                ModOp::Uint(v) => ModuleOp::Uint(*v),
                ModOp::Float(v) => ModuleOp::Float(*v),
                ModOp::Double(v) => ModuleOp::Double(*v),
                ModOp::Str(e) => {
                    let mut s = Vec::new();
                    self.string(e, true, &mut s);
                    ModuleOp::Str(s)
                }
            });
        }
        let form = self.form();
        build::module_opcode_stream(&built, form, out);
    }
}

/// Per-element width hint, mostly minimal.
pub(super) fn width_of(seed: u64, i: usize) -> u8 {
    let x = seed.rotate_left((i % 61) as u32) ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    if x.is_multiple_of(5) {
        ((x >> 8) % 6) as u8
    } else {
        0
    }
}

pub(super) fn id_len(st: &mut Style, id: (u64, u64), out: &mut Vec<u8>) {
    st.len(id.0, out);
    st.len(id.1, out);
}

pub(super) fn id_raw(id: (u64, u64), out: &mut Vec<u8>) {
    out.extend_from_slice(&id.0.to_be_bytes());
    out.extend_from_slice(&id.1.to_be_bytes());
}
