//! One record's rows, table by table: the one definition of what each table holds, shared
//! by the Parquet sink and the Arrow batches ([`crate::arrow`]).

use rdb_format::{HashEntry, Item, Record, Scratch, Str, Value};

use super::schema::{id_parts, Checked, Row, Table};
use super::ChunkTables;
use super::ParquetSinkError;

/// Where rows go: the tables of one chunk being filled.
pub(crate) trait Rows {
    /// What filling a table can fail with.
    type Error;

    /// Appends a row to `table` of database `db`, its columns filled by `fill`.
    fn row(
        &mut self,
        table: Table,
        db: u64,
        fill: impl FnOnce(&mut Row<'_>),
    ) -> Result<(), Self::Error>;
}

impl Rows for ChunkTables<'_> {
    type Error = ParquetSinkError;

    fn row(
        &mut self,
        table: Table,
        db: u64,
        fill: impl FnOnce(&mut Row<'_>),
    ) -> Result<(), ParquetSinkError> {
        ChunkTables::row(self, table, db, fill)
    }
}

pub(crate) enum RowError<E> {
    Decode(rdb_format::Error),
    Sink(E),
}

impl<E> From<rdb_format::Error> for RowError<E> {
    fn from(e: rdb_format::Error) -> Self {
        RowError::Decode(e)
    }
}

/// A string value longer than this is cut into pieces of at most this many bytes, one
/// `strings` row each. A Parquet writer holds a cell whole several times over (the column
/// builder, the encoded page, zstd's output), so a 132 MB value cost ~5× its size; a piece
/// bounds that to a few times 8 MiB.
pub const STRING_PIECE_BYTES: usize = 8 << 20;

/// A string value's pieces, in order: the value whole when it fits one, else pieces of at
/// most [`STRING_PIECE_BYTES`]. A `text` value (valid UTF-8) is cut at character boundaries,
/// so every piece is text too.
pub(crate) fn string_pieces(value: &[u8], text: bool) -> impl Iterator<Item = &[u8]> {
    let mut next = Some(0);
    std::iter::from_fn(move || {
        let start = next?;
        let mut end = value.len().min(start + STRING_PIECE_BYTES);
        // A character is at most 4 bytes: at most 3 steps back to its first byte.
        while text && end < value.len() && (value[end] & 0xC0) == 0x80 {
            end -= 1;
        }
        next = (end < value.len()).then_some(end);
        Some(&value[start..end])
    })
}

/// A huge string's rows, a piece each. A text value is cut between characters, so each
/// piece is text too; any other value has every piece in the raw column.
fn string_pieces_rows<T: Rows>(
    t: &mut T,
    db: u64,
    key: &Checked<'_>,
    value: &[u8],
) -> Result<(), T::Error> {
    let text = crate::utf8::is_utf8(value);
    for (piece, bytes) in string_pieces(value, text).enumerate() {
        t.row(Table::Strings, db, |row| {
            row.checked(key).i64(Some(piece as i64));
            if text {
                row.checked(&Checked::new(bytes));
            } else {
                row.raw(bytes);
            }
        })?;
    }
    Ok(())
}

/// One key: its value rows, then its `keys` row (which counts them).
pub(crate) fn record<T: Rows>(
    t: &mut T,
    file: &str,
    r: &Record<'_>,
    scratch: &Scratch,
) -> Result<(), RowError<T::Error>> {
    let db = r.db;
    let mut digits = itoa::Buffer::new();
    let key = match r.key.decode(scratch)? {
        Str::Bytes(b) => Checked::new(b),
        Str::Int(i) => Checked::new(digits.format(i).as_bytes()),
    };
    let key = &key;
    let mut elements: i64 = 0;
    match r.value(scratch)? {
        Value::String(s) => {
            elements = 1;
            match s {
                Str::Bytes(b) if b.len() > STRING_PIECE_BYTES => {
                    string_pieces_rows(t, db, key, b).map_err(RowError::Sink)?
                }
                s => t
                    .row(Table::Strings, db, |row| {
                        row.checked(key).i64(Some(0)).bytes(s);
                    })
                    .map_err(RowError::Sink)?,
            }
        }
        // Collections element by element: their compressed parts are decompressed into
        // reused buffers rather than the record's scratch (a huge one held its whole size).
        Value::List(items) => {
            items.try_for_each_element(|item| -> Result<(), RowError<T::Error>> {
                t.row(Table::Lists, db, |row| {
                    row.checked(key).i64(Some(elements)).bytes(item);
                })
                .map_err(RowError::Sink)?;
                elements += 1;
                Ok(())
            })?;
        }
        Value::Set(members) => {
            members.try_for_each_member(|m| -> Result<(), RowError<T::Error>> {
                t.row(Table::Sets, db, |row| {
                    row.checked(key).bytes(m);
                })
                .map_err(RowError::Sink)?;
                elements += 1;
                Ok(())
            })?;
        }
        Value::ZSet(members) => {
            members.try_for_each_member(|member, score| -> Result<(), RowError<T::Error>> {
                t.row(Table::ZSets, db, |row| {
                    row.checked(key).bytes(member).f64(score);
                })
                .map_err(RowError::Sink)?;
                elements += 1;
                Ok(())
            })?;
        }
        Value::Hash(fields) => {
            fields.try_for_each_entry(|f| -> Result<(), RowError<T::Error>> {
                let HashEntry {
                    field,
                    value,
                    expire_ms,
                } = f;
                t.row(Table::Hashes, db, |row| {
                    row.checked(key).bytes(field).bytes(value).time(expire_ms);
                })
                .map_err(RowError::Sink)?;
                elements += 1;
                Ok(())
            })?;
        }
        Value::Stream(s) => {
            for e in s.entries() {
                let e = e?;
                let (ms, seq) = id_parts(e.id);
                for f in e.fields {
                    let (field, value) = f?;
                    t.row(Table::Streams, db, |row| {
                        row.checked(key).i64(ms).i64(seq).bytes(field).bytes(value);
                    })
                    .map_err(RowError::Sink)?;
                }
                elements += 1;
            }
            let (last_ms, last_seq) = id_parts(s.last_id);
            let (first_ms, first_seq) = s.first_id.map_or((None, None), id_parts);
            let (del_ms, del_seq) = s.max_deleted_id.map_or((None, None), id_parts);
            t.row(Table::StreamMeta, db, |row| {
                row.checked(key)
                    .i64(Some(s.length as i64))
                    .i64(last_ms)
                    .i64(last_seq)
                    .i64(first_ms)
                    .i64(first_seq)
                    .i64(del_ms)
                    .i64(del_seq)
                    .i64(s.entries_added.map(|n| n as i64));
                let idmp = s.idmp.as_ref();
                row.i64(idmp.map(|i| i.duration as i64))
                    .i64(idmp.map(|i| i.max_entries as i64))
                    .i64(idmp.map(|i| i.iids_added as i64))
                    .i64(idmp.map(|i| i.iids_duplicates as i64));
            })
            .map_err(RowError::Sink)?;
            for p in s.idmp.iter().flat_map(|i| i.producers()) {
                let p = p?;
                for e in p.entries {
                    let e = e?;
                    let (ms, seq) = id_parts(e.id);
                    t.row(Table::StreamIdmp, db, |row| {
                        row.checked(key).bytes(p.pid).bytes(e.iid).i64(ms).i64(seq);
                    })
                    .map_err(RowError::Sink)?;
                }
            }
            for g in s.groups() {
                let g = g?;
                let (ld_ms, ld_seq) = id_parts(g.last_delivered_id);
                // u64::MAX is Redis's "unknown".
                let entries_read = g.entries_read.filter(|&n| n != u64::MAX).map(|n| n as i64);
                t.row(Table::StreamGroups, db, |row| {
                    row.checked(key)
                        .bytes(g.name)
                        .i64(ld_ms)
                        .i64(ld_seq)
                        .i64(entries_read);
                })
                .map_err(RowError::Sink)?;
                for c in g.consumers.clone() {
                    let c = c?;
                    let pending = c.pending.len() as i64;
                    t.row(Table::StreamConsumers, db, |row| {
                        row.checked(key)
                            .bytes(g.name)
                            .bytes(c.name)
                            .time(Some(c.seen_time_ms))
                            .time(Some(c.active_time_ms.unwrap_or(c.seen_time_ms)))
                            .i64(Some(pending));
                    })
                    .map_err(RowError::Sink)?;
                }
                for p in g.pending_with_owners() {
                    let (p, consumer) = p?;
                    let (ms, seq) = id_parts(p.id);
                    t.row(Table::StreamPending, db, |row| {
                        row.checked(key).bytes(g.name).i64(ms).i64(seq);
                        match consumer {
                            Some(c) => row.bytes(c),
                            None => row.i64_null_bytes(),
                        };
                        row.time(Some(p.delivery_time_ms))
                            .i64(Some(p.delivery_count as i64));
                    })
                    .map_err(RowError::Sink)?;
                }
            }
        }
        Value::Module(m) => {
            elements = 1;
            let name = m.id.name();
            t.row(Table::Modules, db, |row| {
                row.checked(key)
                    .text(&name)
                    .i64(Some(m.id.version() as i64))
                    .raw(m.raw);
            })
            .map_err(RowError::Sink)?;
        }
        _ => {
            return Err(rdb_format::Error::new(
                r.value_offset,
                "value",
                rdb_format::ErrorKind::Invalid("a kind of value this build does not know".into()),
            )
            .into())
        }
    }
    let type_name = r.data_type().as_str();
    let encoding = r.encoding.as_str();
    t.row(Table::Keys, db, |row| {
        row.text(file)
            .checked(key)
            .text(type_name)
            .text(encoding)
            .time(r.expire_ms)
            .i64(r.idle.map(|v| v as i64))
            .i64(r.freq.map(i64::from))
            .i64(Some(r.len as i64))
            .i64(Some(elements));
    })
    .map_err(RowError::Sink)?;
    Ok(())
}

/// A dump's item other than a record as its `meta` row (aux fields, functions, module aux
/// data); other items make none. The rows the Parquet sink's `process` makes of them.
pub(crate) fn meta<T: Rows>(
    t: &mut T,
    file: &str,
    item: Item<'_>,
    scratch: &Scratch,
) -> Result<(), RowError<T::Error>> {
    match item {
        Item::Aux { key, value } => {
            let (k, v) = (key.decode(scratch)?, value.decode(scratch)?);
            t.row(Table::Meta, 0, |r| {
                r.text(file).text("aux").bytes(k).bytes(v);
            })
        }
        Item::Function { code } => {
            let code = code.decode(scratch)?;
            t.row(Table::Meta, 0, |r| {
                r.text(file)
                    .text("function")
                    .bytes(Str::Bytes(b""))
                    .bytes(code);
            })
        }
        Item::FunctionPreGa { name, code, .. } => {
            let name = name.decode(scratch)?;
            let code = code.decode(scratch)?;
            t.row(Table::Meta, 0, |r| {
                r.text(file).text("function").bytes(name).bytes(code);
            })
        }
        Item::ModuleAux { id, raw, .. } => {
            let name = id.name();
            t.row(Table::Meta, 0, |r| {
                r.text(file)
                    .text("module_aux")
                    .bytes(Str::Bytes(name.as_bytes()))
                    .raw(raw);
            })
        }
        _ => Ok(()),
    }
    .map_err(RowError::Sink)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_that_fits_is_one_piece() {
        let small: Vec<&[u8]> = string_pieces(b"abc", true).collect();
        assert_eq!(small, [b"abc"]);
        let empty: Vec<&[u8]> = string_pieces(b"", true).collect();
        assert_eq!(empty, [b""]);
        let full = vec![b'x'; STRING_PIECE_BYTES];
        assert_eq!(string_pieces(&full, true).count(), 1);
    }

    #[test]
    fn a_long_text_is_cut_at_character_boundaries() {
        // Four-byte characters after one ASCII byte: no piece boundary falls on a character
        // start, so every cut has to step back.
        let text = format!("a{}", "\u{1f600}".repeat(STRING_PIECE_BYTES / 2));
        let pieces: Vec<&[u8]> = string_pieces(text.as_bytes(), true).collect();
        assert_eq!(pieces.len(), 3);
        for (i, p) in pieces.iter().enumerate() {
            assert!(p.len() <= STRING_PIECE_BYTES);
            if i + 1 < pieces.len() {
                assert!(p.len() + 3 >= STRING_PIECE_BYTES);
            }
            assert!(std::str::from_utf8(p).is_ok());
        }
        assert_eq!(pieces.concat(), text.as_bytes());
    }

    #[test]
    fn a_long_binary_value_is_cut_at_the_piece_size() {
        let bin: Vec<u8> = (0..2 * STRING_PIECE_BYTES + 5)
            .map(|i| (i % 251) as u8 | 0x80)
            .collect();
        let lens: Vec<usize> = string_pieces(&bin, false).map(<[u8]>::len).collect();
        assert_eq!(lens, [STRING_PIECE_BYTES, STRING_PIECE_BYTES, 5]);
        assert_eq!(string_pieces(&bin, false).collect::<Vec<_>>().concat(), bin);
    }
}
