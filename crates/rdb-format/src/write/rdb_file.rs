//! Whole RDB files: magic, aux fields, functions, databases and records, `EOF` and CRC64.

use std::io::Write;

use crate::consts::*;
use crate::crc::{crc64, crc64_combine};
use crate::read::string::RdbString;
use crate::version::Version;
use crate::write::length::length;
use crate::write::rdb_string::{rdb_string, rdb_string_copy};
use crate::write::Result;

/// Bytes gathered before they are checksummed and handed to the output.
const BUFFER: usize = 256 * 1024;

/// Writes one RDB file for a target version into any [`Write`].
///
/// Items are written in call order; Redis's own order is aux fields, module aux data
/// (before), functions, then per database [`select_db`](Self::select_db),
/// [`resize_db`](Self::resize_db) and its records, then [`finish`](Self::finish). The CRC64
/// is computed over everything as it goes (from RDB 5 on; older versions end at `EOF`).
#[derive(Debug)]
pub struct RdbWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    crc: u64,
    written: u64,
    target: Version,
}

impl<W: Write> RdbWriter<W> {
    /// Starts a file: writes the magic of `target` (`REDIS0011`, `VALKEY080`...).
    pub fn new(out: W, target: Version) -> Result<Self> {
        let mut w = RdbWriter {
            out,
            buf: Vec::with_capacity(BUFFER + 1024),
            crc: 0,
            written: 0,
            target,
        };
        w.buf.extend_from_slice(target.magic().as_bytes());
        Ok(w)
    }

    /// The version being written.
    pub fn version(&self) -> Version {
        self.target
    }

    /// Bytes written so far (buffered ones included).
    pub fn position(&self) -> u64 {
        self.written + self.buf.len() as u64
    }

    fn flush_buf(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            self.checksum_and_write_buf()?;
        }
        Ok(())
    }

    fn checksum_and_write_buf(&mut self) -> Result<()> {
        self.crc = crc64_combine(self.crc, crc64(&self.buf), self.buf.len() as u64);
        self.out.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    #[inline]
    fn maybe_flush(&mut self) -> Result<()> {
        if self.buf.len() >= BUFFER {
            self.checksum_and_write_buf()?;
        }
        Ok(())
    }

    /// Appends bytes that are already valid RDB (e.g. a record copied from another dump of
    /// a version the target reads: see [`copyable`](crate::write::copyable)).
    pub fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.len() >= BUFFER {
            self.flush_buf()?;
            self.crc = crc64_combine(self.crc, crc64(bytes), bytes.len() as u64);
            self.out.write_all(bytes)?;
            self.written += bytes.len() as u64;
            return Ok(());
        }
        self.buf.extend_from_slice(bytes);
        self.maybe_flush()
    }

    /// An aux field (`redis-ver`, `ctime`...).
    pub fn aux(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.buf.push(RDB_OPCODE_AUX);
        rdb_string(&mut self.buf, key);
        rdb_string(&mut self.buf, value);
        self.maybe_flush()
    }

    /// An aux field copied from a source dump as stored.
    pub fn aux_copy(&mut self, key: RdbString<'_>, value: RdbString<'_>) -> Result<()> {
        self.buf.push(RDB_OPCODE_AUX);
        rdb_string_copy(&mut self.buf, key);
        rdb_string_copy(&mut self.buf, value);
        self.maybe_flush()
    }

    /// A function library (`FUNCTION2`, RDB 10+): its whole source, shebang included.
    pub fn function(&mut self, code: RdbString<'_>) -> Result<()> {
        self.buf.push(RDB_OPCODE_FUNCTION2);
        rdb_string_copy(&mut self.buf, code);
        self.maybe_flush()
    }

    /// Module auxiliary data: the module id, `when` and the raw opcode stream (through its
    /// EOF opcode), as [`Item::ModuleAux`](crate::Item::ModuleAux) gives them.
    pub fn module_aux(&mut self, id: u64, when: u64, raw: &[u8]) -> Result<()> {
        self.buf.push(RDB_OPCODE_MODULE_AUX);
        length(&mut self.buf, id);
        length(&mut self.buf, RDB_MODULE_OPCODE_UINT);
        length(&mut self.buf, when);
        self.buf.extend_from_slice(raw);
        self.maybe_flush()
    }

    /// Switches to database `db`.
    pub fn select_db(&mut self, db: u64) -> Result<()> {
        self.buf.push(RDB_OPCODE_SELECTDB);
        length(&mut self.buf, db);
        self.maybe_flush()
    }

    /// Size hints for the current database (RDB 7+; ignored for older targets).
    pub fn resize_db(&mut self, db_size: u64, expires_size: u64) -> Result<()> {
        if self.target.number < 7 {
            return Ok(());
        }
        self.buf.push(RDB_OPCODE_RESIZEDB);
        length(&mut self.buf, db_size);
        length(&mut self.buf, expires_size);
        self.maybe_flush()
    }

    /// A key record: expiry (absolute unix ms), type byte, key, and the serialized value
    /// (from [`encode_value`](crate::write::encode_value) or a source record's
    /// `value_raw`).
    pub fn record(
        &mut self,
        key: &[u8],
        expire_ms: Option<i64>,
        type_byte: u8,
        value: &[u8],
    ) -> Result<()> {
        self.expiry(expire_ms);
        self.buf.push(type_byte);
        rdb_string(&mut self.buf, key);
        self.value(value)
    }

    /// A key record whose key is copied as stored in a source dump (possibly compressed),
    /// with LRU/LFU data when the target has them (RDB 9+).
    pub fn record_copy(
        &mut self,
        key: RdbString<'_>,
        expire_ms: Option<i64>,
        idle: Option<u64>,
        freq: Option<u8>,
        type_byte: u8,
        value: &[u8],
    ) -> Result<()> {
        self.expiry(expire_ms);
        if self.target.number >= 9 {
            if let Some(idle) = idle {
                self.buf.push(RDB_OPCODE_IDLE);
                length(&mut self.buf, idle);
            }
            if let Some(freq) = freq {
                self.buf.extend_from_slice(&[RDB_OPCODE_FREQ, freq]);
            }
        }
        self.buf.push(type_byte);
        rdb_string_copy(&mut self.buf, key);
        self.value(value)
    }

    fn expiry(&mut self, expire_ms: Option<i64>) {
        if let Some(ms) = expire_ms {
            if self.target.number >= 3 {
                self.buf.push(RDB_OPCODE_EXPIRETIME_MS);
                self.buf.extend_from_slice(&ms.to_le_bytes());
            } else {
                let s = i32::try_from(ms.div_euclid(1000)).unwrap_or(i32::MAX);
                self.buf.push(RDB_OPCODE_EXPIRETIME);
                self.buf.extend_from_slice(&s.to_le_bytes());
            }
        }
    }

    fn value(&mut self, value: &[u8]) -> Result<()> {
        if value.len() >= BUFFER {
            return self.raw(value);
        }
        self.buf.extend_from_slice(value);
        self.maybe_flush()
    }

    /// Writes `EOF` and the checksum, flushes, and returns the output.
    pub fn finish(mut self) -> Result<W> {
        self.buf.push(RDB_OPCODE_EOF);
        self.flush_buf()?;
        if self.target.has_checksum() {
            self.out.write_all(&self.crc.to_le_bytes())?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}
