//! Module values and module auxiliary data: the module type id and the self-describing
//! opcode stream that lets any module value be skipped (`rdbLoadCheckModuleValue`).

use std::fmt;

use crate::consts::*;
use crate::read::{array, invalid, length, skip_string, PResult};

const MODULE_CHARSET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A module type id: a 9-character name and a 10-bit encoding version packed in 64 bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModuleId(pub u64);

impl ModuleId {
    /// The module type name, e.g. `ReJSON-RL`.
    pub fn name(&self) -> String {
        let mut name = String::with_capacity(9);
        for i in 0..9 {
            let shift = 64 - 6 * (i + 1);
            let idx = ((self.0 >> shift) & 63) as usize;
            name.push(MODULE_CHARSET[idx] as char);
        }
        name
    }

    /// The module's encoding version.
    pub fn version(&self) -> u64 {
        self.0 & 1023
    }
}

impl fmt::Debug for ModuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.name(), self.version())
    }
}

/// A module value (type `MODULE_2`): its type id and the raw opcode stream, kept as is so
/// nothing is lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Module<'b> {
    /// The module type.
    pub id: ModuleId,
    /// The value's opcode stream, from after the id through its EOF opcode.
    pub raw: &'b [u8],
}

/// A module opcode stream up to and including its EOF opcode.
pub(crate) fn module_opcode_stream(input: &[u8]) -> PResult<'_, &[u8]> {
    let start = input;
    let mut rest = input;
    loop {
        let (r, op) = length(rest)?;
        rest = match op {
            RDB_MODULE_OPCODE_EOF => {
                let used = start.len() - r.len();
                return Ok((r, &start[..used]));
            }
            RDB_MODULE_OPCODE_SINT | RDB_MODULE_OPCODE_UINT => length(r)?.0,
            RDB_MODULE_OPCODE_FLOAT => array::<4>(r, "module float")?.0,
            RDB_MODULE_OPCODE_DOUBLE => array::<8>(r, "module double")?.0,
            RDB_MODULE_OPCODE_STRING => skip_string(r)?.0,
            _ => return invalid(rest, "module value", format!("unknown module opcode {op}")),
        };
    }
}

/// A `MODULE_2` value: the module id then the opcode stream.
pub(crate) fn module_value(input: &[u8]) -> PResult<'_, Module<'_>> {
    let (rest, id) = length(input)?;
    let (rest, raw) = module_opcode_stream(rest)?;
    Ok((
        rest,
        Module {
            id: ModuleId(id),
            raw,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_id(name: &str, ver: u64) -> u64 {
        let mut id = 0u64;
        for c in name.bytes() {
            let idx = MODULE_CHARSET.iter().position(|&x| x == c).unwrap() as u64;
            id = (id << 6) | idx;
        }
        (id << 10) | ver
    }

    #[test]
    fn module_names() {
        let id = ModuleId(encode_id("ReJSON-RL", 3));
        assert_eq!(id.name(), "ReJSON-RL");
        assert_eq!(id.version(), 3);
    }

    #[test]
    fn opcode_stream() {
        // UINT 5, FLOAT, DOUBLE, STRING "ab", EOF, then trailing byte.
        let data = [
            2, 5, 3, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 5, 2, b'a', b'b', 0, 0xAA,
        ];
        let (rest, raw) = module_opcode_stream(&data).unwrap();
        assert_eq!(rest, &[0xAA]);
        assert_eq!(raw.len(), data.len() - 1);
        assert!(module_opcode_stream(&[9, 0]).is_err());
        assert!(module_opcode_stream(&[2, 5]).is_err());
    }
}
