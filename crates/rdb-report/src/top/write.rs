//! The top report as text and as JSON.

use std::io::{self, Write};

use super::{Top, Totals, TTL_BUCKETS};
use crate::{human_bytes, iso_time, json_bytes, json_str, printable};

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

impl Top {
    /// Writes the report as readable tables. `header` lines (files, model) come first.
    pub fn write_text(&self, out: &mut dyn Write, header: &[String]) -> io::Result<()> {
        for h in header {
            writeln!(out, "{h}")?;
        }
        let t = &self.total;
        writeln!(
            out,
            "{} keys, {} estimated memory, {} elements, {} serialized",
            t.keys,
            human_bytes(t.memory),
            t.elements,
            human_bytes(t.size)
        )?;
        let by = self.options.by.as_str();
        writeln!(out)?;
        writeln!(out, "Biggest keys by {by}")?;
        writeln!(
            out,
            "{:>4} {:>3}  {:<40} {:<7} {:<11} {:>11} {:>10} {:>11}  expiry",
            "#", "db", "key", "type", "encoding", "memory", "elements", "serialized"
        )?;
        for (i, k) in self.keys.iter().enumerate() {
            writeln!(
                out,
                "{:>4} {:>3}  {:<40} {:<7} {:<11} {:>11} {:>10} {:>11}  {}",
                i + 1,
                k.db,
                printable(&k.key, 39),
                k.data_type,
                k.encoding,
                human_bytes(k.memory),
                k.elements,
                human_bytes(k.size),
                k.expire_ms.map_or_else(|| "-".to_string(), iso_time)
            )?;
        }
        if let Some(p) = &self.options.prefixes {
            writeln!(out)?;
            writeln!(
                out,
                "Prefixes by {by} (separator {:?}, depth {}; {} distinct)",
                String::from_utf8_lossy(&p.separator),
                p.depth,
                self.prefix_count
            )?;
            writeln!(
                out,
                "{:<40} {:>10} {:>11} {:>7} {:>12} {:>11}",
                "prefix", "keys", "memory", "share", "elements", "serialized"
            )?;
            let mut rows: Vec<(String, &Totals)> = self
                .prefixes
                .iter()
                .map(|(p, t)| {
                    let name = if p.is_empty() {
                        "(no prefix)".to_string()
                    } else {
                        printable(p, 39)
                    };
                    (name, t)
                })
                .collect();
            if self.other_prefixes.keys > 0 {
                rows.push(("(other)".to_string(), &self.other_prefixes));
            }
            for (name, pt) in rows {
                writeln!(
                    out,
                    "{:<40} {:>10} {:>11} {:>6.1}% {:>12} {:>11}",
                    name,
                    pt.keys,
                    human_bytes(pt.memory),
                    pct(pt.memory, t.memory),
                    pt.elements,
                    human_bytes(pt.size)
                )?;
            }
        }
        writeln!(out)?;
        writeln!(out, "Types")?;
        writeln!(
            out,
            "{:<10} {:>10} {:>11} {:>7} {:>12} {:>11}",
            "type", "keys", "memory", "share", "elements", "serialized"
        )?;
        for (ty, tt) in &self.types {
            writeln!(
                out,
                "{:<10} {:>10} {:>11} {:>6.1}% {:>12} {:>11}",
                ty,
                tt.keys,
                human_bytes(tt.memory),
                pct(tt.memory, t.memory),
                tt.elements,
                human_bytes(tt.size)
            )?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "Time to expiry (from {})",
            iso_time(self.options.now_ms)
        )?;
        writeln!(
            out,
            "{:<10} {:>10} {:>7} {:>11} {:>7}",
            "ttl", "keys", "share", "memory", "share"
        )?;
        for (name, b) in TTL_BUCKETS.iter().zip(&self.ttl) {
            writeln!(
                out,
                "{:<10} {:>10} {:>6.1}% {:>11} {:>6.1}%",
                name,
                b.keys,
                pct(b.keys, t.keys),
                human_bytes(b.memory),
                pct(b.memory, t.memory)
            )?;
        }
        Ok(())
    }

    /// Writes the report as one JSON object. `files` are (name, model) pairs.
    pub fn write_json(&self, out: &mut dyn Write, files: &[(String, String)]) -> io::Result<()> {
        fn totals(b: &mut Vec<u8>, t: &Totals) {
            let _ = write!(
                b,
                "\"keys\":{},\"memory\":{},\"elements\":{},\"serialized_bytes\":{}",
                t.keys, t.memory, t.elements, t.size
            );
        }
        let mut b = Vec::new();
        b.extend_from_slice(b"{\"files\":[");
        for (i, (name, model)) in files.iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            b.extend_from_slice(b"{\"file\":");
            json_str(&mut b, name);
            b.extend_from_slice(b",\"model\":");
            json_str(&mut b, model);
            b.push(b'}');
        }
        let _ = write!(
            b,
            "],\"by\":\"{}\",\"now_ms\":{},\"total\":{{",
            self.options.by.as_str(),
            self.options.now_ms
        );
        totals(&mut b, &self.total);
        b.extend_from_slice(b"},\"keys\":[");
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            let _ = write!(b, "{{\"db\":{},\"key\":", k.db);
            json_bytes(&mut b, &k.key);
            let _ = write!(
                b,
                ",\"type\":\"{}\",\"encoding\":\"{}\",\"memory\":{},\"elements\":{},\"serialized_bytes\":{}",
                k.data_type, k.encoding, k.memory, k.elements, k.size
            );
            if let Some(e) = k.expire_ms {
                let _ = write!(b, ",\"expire_ms\":{e}");
            }
            b.push(b'}');
        }
        b.push(b']');
        if let Some(p) = &self.options.prefixes {
            b.extend_from_slice(b",\"prefix_options\":{\"separator\":");
            json_bytes(&mut b, &p.separator);
            let _ = write!(
                b,
                ",\"depth\":{}}},\"prefix_count\":{},\"prefixes\":[",
                p.depth, self.prefix_count
            );
            for (i, (prefix, t)) in self.prefixes.iter().enumerate() {
                if i > 0 {
                    b.push(b',');
                }
                b.extend_from_slice(b"{\"prefix\":");
                json_bytes(&mut b, prefix);
                b.push(b',');
                totals(&mut b, t);
                b.push(b'}');
            }
            b.extend_from_slice(b"],\"other_prefixes\":{");
            totals(&mut b, &self.other_prefixes);
            b.push(b'}');
        }
        b.extend_from_slice(b",\"types\":[");
        for (i, (ty, t)) in self.types.iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            let _ = write!(b, "{{\"type\":\"{ty}\",");
            totals(&mut b, t);
            b.push(b'}');
        }
        b.extend_from_slice(b"],\"ttl\":[");
        for (i, (name, t)) in TTL_BUCKETS.iter().zip(&self.ttl).enumerate() {
            if i > 0 {
                b.push(b',');
            }
            let _ = write!(b, "{{\"bucket\":\"{name}\",");
            totals(&mut b, t);
            b.push(b'}');
        }
        b.extend_from_slice(b"]}\n");
        out.write_all(&b)
    }
}
