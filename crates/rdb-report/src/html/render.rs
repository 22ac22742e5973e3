//! The page: one HTML file with inline CSS and SVG (no script, no external resource).
//! Figures the tests read back carry stable ids and `data-` attributes.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::aggregate::{
    Summary, BIG_KEY_BYTES, BIG_KEY_ELEMENTS, LISTPACK_ENTRIES, LISTPACK_VALUE, SMALL_STRING,
};
use super::svg::{bars, treemap, Bar};
use crate::top::{TopKey, Totals, TTL_BUCKETS};
use crate::{human_bytes, iso_time, printable};

/// A dump the report covers: its name and the memory model used for it.
#[derive(Clone, Debug)]
pub struct ReportFile {
    /// The file as given.
    pub name: String,
    /// The server and allocator modelled, e.g. `redis-7.4 jemalloc`.
    pub model: String,
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}\
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:8px 0}td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:right}\
td.l,th.l{text-align:left}code{font-size:13px;word-break:break-all}\
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #ccc;border-radius:6px;padding:8px 14px}\
.card b{display:block;font-size:20px}svg text{font-size:12px;fill:#222}svg .tl{fill:#000}\
.c0{fill:#8ecae6}.c1{fill:#ffb703}.c2{fill:#95d5b2}.c3{fill:#f4a261}.c4{fill:#cdb4db}.c5{fill:#e9c46a}.c6{fill:#a8dadc}.c7{fill:#ffadad}\
.treemap rect{stroke:#fff;stroke-width:1}.l1{opacity:.8}.l2{opacity:.65}\
.note{color:#555;font-size:12px}li{margin:6px 0}\
@media print{body{margin:0}h2{break-after:avoid}svg,table{break-inside:avoid}}";

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A key or prefix for the page: printable, escaped later.
pub(crate) fn label_of(b: &[u8]) -> String {
    if b.is_empty() {
        "(no prefix)".to_string()
    } else {
        printable(b, 60)
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Writes the report page for `summary` over `files`.
pub fn render(out: &mut dyn Write, summary: &Summary, files: &[ReportFile]) -> io::Result<()> {
    let mut h = String::with_capacity(1 << 18);
    let top = &summary.top;
    let total = &top.total;
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width\">");
    // Nothing may be fetched: the page is self-contained by design, and this proves it.
    h.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\">",
    );
    let _ = write!(
        h,
        "<title>RDB report</title><style>{STYLE}</style></head><body>"
    );
    h.push_str("<h1>Redis/Valkey dump report</h1><p class=\"note\">");
    for f in files {
        let _ = write!(
            h,
            "<code class=\"file\">{}</code> (memory model {})<br>",
            esc(&f.name),
            esc(&f.model)
        );
    }
    let _ = write!(
        h,
        "Memory is the estimate of <code>MEMORY USAGE</code> after loading (as <code>rdb-convert \
         memory</code>/<code>top</code> compute it); TTLs from {}.</p>",
        iso_time(summary.options.now_ms)
    );
    summary_cards(&mut h, summary);
    types_section(&mut h, summary);
    dbs_section(&mut h, summary);
    prefix_section(&mut h, summary);
    biggest_section(&mut h, summary);
    ttl_section(&mut h, summary);
    percentile_section(&mut h, summary);
    advice_section(&mut h, summary);
    let _ = writeln!(
        h,
        "<p class=\"note\">{} keys, {} estimated memory. Percentiles are exact below 64 and \
         within 3% above.</p></body></html>",
        total.keys,
        human_bytes(total.memory)
    );
    out.write_all(h.as_bytes())
}

fn card(h: &mut String, id: &str, title: &str, value: u64, text: &str) {
    let _ = write!(
        h,
        "<div class=\"card\">{title}<b id=\"{id}\" data-value=\"{value}\">{}</b></div>",
        esc(text)
    );
}

fn summary_cards(h: &mut String, s: &Summary) {
    let t = &s.top.total;
    let expires: u64 = s.dbs.values().map(|d| d.expires).sum();
    h.push_str("<div class=\"cards\">");
    card(h, "total-keys", "Keys", t.keys, &t.keys.to_string());
    card(
        h,
        "total-memory",
        "Estimated memory",
        t.memory,
        &human_bytes(t.memory),
    );
    card(
        h,
        "total-serialized",
        "Serialized",
        t.size,
        &human_bytes(t.size),
    );
    card(
        h,
        "total-elements",
        "Elements",
        t.elements,
        &t.elements.to_string(),
    );
    card(
        h,
        "total-expires",
        "Keys with a TTL",
        expires,
        &format!("{expires} ({:.1}%)", pct(expires, t.keys)),
    );
    card(
        h,
        "total-dbs",
        "Databases",
        s.dbs.len() as u64,
        &s.dbs.len().to_string(),
    );
    h.push_str("</div>");
}

fn totals_cells(h: &mut String, t: &Totals, whole: u64) {
    let _ = write!(
        h,
        "<td>{}</td><td>{}</td><td>{:.1}%</td><td>{}</td><td>{}</td>",
        t.keys,
        human_bytes(t.memory),
        pct(t.memory, whole),
        t.elements,
        human_bytes(t.size)
    );
}

const TOTALS_HEAD: &str =
    "<th>keys</th><th>memory</th><th>share</th><th>elements</th><th>serialized</th>";

fn types_section(h: &mut String, s: &Summary) {
    let whole = s.top.total.memory;
    h.push_str("<h2 id=\"types\">Memory by type</h2>");
    let rows: Vec<Bar> = s
        .top
        .types
        .iter()
        .map(|(t, tt)| Bar {
            label: t.to_string(),
            value: tt.memory,
            text: format!("{} ({:.1}%)", human_bytes(tt.memory), pct(tt.memory, whole)),
        })
        .collect();
    bars(h, "Memory by type", &rows);
    let _ = write!(h, "<table><tr><th class=\"l\">type</th>{TOTALS_HEAD}</tr>");
    for (t, tt) in &s.top.types {
        let _ = write!(
            h,
            "<tr class=\"type-row\" data-type=\"{t}\" data-keys=\"{}\" data-memory=\"{}\"><td class=\"l\">{t}</td>",
            tt.keys, tt.memory
        );
        totals_cells(h, tt, whole);
        h.push_str("</tr>");
    }
    h.push_str("</table><h3>By encoding (in memory)</h3>");
    let _ = write!(
        h,
        "<table><tr><th class=\"l\">type</th><th class=\"l\">encoding</th>{TOTALS_HEAD}</tr>"
    );
    for ((t, e), tt) in &s.encodings {
        let _ = write!(h, "<tr><td class=\"l\">{t}</td><td class=\"l\">{e}</td>");
        totals_cells(h, tt, whole);
        h.push_str("</tr>");
    }
    h.push_str("</table>");
}

fn dbs_section(h: &mut String, s: &Summary) {
    let whole = s.top.total.memory;
    h.push_str("<h2 id=\"dbs\">Databases</h2>");
    let _ = write!(
        h,
        "<table><tr><th class=\"l\">db</th>{TOTALS_HEAD}<th>with TTL</th></tr>"
    );
    for (db, d) in &s.dbs {
        let _ = write!(
            h,
            "<tr class=\"db-row\" data-db=\"{db}\" data-keys=\"{}\"><td class=\"l\">{db}</td>",
            d.totals.keys
        );
        totals_cells(h, &d.totals, whole);
        let _ = write!(h, "<td>{}</td></tr>", d.expires);
    }
    h.push_str("</table>");
}

/// The biggest prefix nodes (all ancestors of a shown node are shown).
fn shown_nodes(s: &Summary) -> Vec<bool> {
    let nodes = s.prefixes.nodes();
    let mut order: Vec<usize> = (1..nodes.len()).collect();
    order.sort_unstable_by(|&a, &b| {
        nodes[b]
            .totals
            .memory
            .cmp(&nodes[a].totals.memory)
            .then(a.cmp(&b))
    });
    let mut shown = vec![false; nodes.len()];
    shown[0] = true;
    // A child never holds more than its parent, so biggest-first keeps ancestors in.
    for &i in order.iter().take(s.options.shown_prefix_nodes) {
        shown[i] = true;
    }
    shown
}

fn prefix_section(h: &mut String, s: &Summary) {
    let whole = s.top.total.memory;
    let seps: Vec<String> = s
        .options
        .separators
        .iter()
        .map(|x| format!("<code>{}</code>", esc(&printable(x, 20))))
        .collect();
    let _ = write!(
        h,
        "<h2 id=\"prefixes\">Memory by key prefix</h2><p class=\"note\">Keys split after {}; \
         each box holds its sub-prefixes; blank space is keys directly under a prefix.</p>",
        seps.join(", ")
    );
    let shown = shown_nodes(s);
    treemap(h, &s.prefixes, &shown, whole);
    let nodes = s.prefixes.nodes();
    let mut listed: Vec<usize> = (1..nodes.len()).filter(|&i| shown[i]).collect();
    listed.sort_unstable_by(|&a, &b| {
        nodes[b]
            .totals
            .memory
            .cmp(&nodes[a].totals.memory)
            .then(a.cmp(&b))
    });
    listed.truncate(50);
    let _ = write!(
        h,
        "<table><tr><th class=\"l\">prefix</th><th>depth</th>{TOTALS_HEAD}</tr>"
    );
    for i in listed {
        let mut depth = 0;
        let mut p = i;
        while p != 0 {
            depth += 1;
            p = nodes[p].parent;
        }
        let _ = write!(
            h,
            "<tr><td class=\"l\"><code>{}</code></td><td>{depth}</td>",
            esc(&label_of(&s.prefixes.full_prefix(i)))
        );
        totals_cells(h, &nodes[i].totals, whole);
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    if s.prefixes.is_full() {
        h.push_str(
            "<p class=\"note\">More prefixes than tracked: keys of the rest count in their \
             deepest tracked prefix.</p>",
        );
    }
}

fn key_table(h: &mut String, keys: &[TopKey], id_prefix: &str) {
    h.push_str(
        "<table><tr><th>#</th><th>db</th><th class=\"l\">key</th><th class=\"l\">type</th>\
         <th class=\"l\">encoding</th><th>memory</th><th>elements</th><th>serialized</th>\
         <th class=\"l\">expiry</th></tr>",
    );
    for (i, k) in keys.iter().enumerate() {
        let _ = write!(
            h,
            "<tr id=\"{id_prefix}{}\" data-key=\"{}\" data-memory=\"{}\"><td>{}</td><td>{}</td>\
             <td class=\"l\"><code>{}</code></td><td class=\"l\">{}</td><td class=\"l\">{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            i + 1,
            esc(&printable(&k.key, 1000)),
            k.memory,
            i + 1,
            k.db,
            esc(&printable(&k.key, 80)),
            k.data_type,
            k.encoding,
            human_bytes(k.memory),
            k.elements,
            human_bytes(k.size),
            k.expire_ms.map_or_else(|| "-".to_string(), iso_time)
        );
    }
    h.push_str("</table>");
}

fn biggest_section(h: &mut String, s: &Summary) {
    h.push_str("<h2 id=\"biggest\">Biggest keys by memory</h2>");
    key_table(h, &s.top.keys, "top-key-");
    h.push_str("<h2 id=\"biggest-per-type\">Biggest keys per type</h2>");
    for (t, keys) in &s.per_type {
        let _ = write!(h, "<h3>{t}</h3>");
        key_table(h, keys, &format!("top-{t}-"));
    }
}

fn ttl_section(h: &mut String, s: &Summary) {
    let t = &s.top.total;
    let ttl = &s.top.ttl;
    h.push_str("<h2 id=\"ttl\">Time to expiry</h2>");
    let rows: Vec<Bar> = TTL_BUCKETS
        .iter()
        .zip(ttl)
        .map(|(name, b)| Bar {
            label: name.to_string(),
            value: b.memory,
            text: format!("{} in {} keys", human_bytes(b.memory), b.keys),
        })
        .collect();
    bars(h, "Memory by time to expiry", &rows);
    // Buckets: no expiry, expired, < 1h, < 1d, < 7d, later.
    let hour = ttl[2].memory;
    let day = hour + ttl[3].memory;
    let week = day + ttl[4].memory;
    let _ = write!(
        h,
        "<div class=\"cards\"><div class=\"card\">Freed in the next hour<b id=\"freed-hour\" \
         data-value=\"{hour}\">{}</b></div><div class=\"card\">Next day<b id=\"freed-day\" \
         data-value=\"{day}\">{}</b></div><div class=\"card\">Next week<b id=\"freed-week\" \
         data-value=\"{week}\">{}</b></div><div class=\"card\">Already expired<b>{}</b></div></div>",
        human_bytes(hour),
        human_bytes(day),
        human_bytes(week),
        human_bytes(ttl[1].memory)
    );
    let _ = write!(h, "<table><tr><th class=\"l\">ttl</th>{TOTALS_HEAD}</tr>");
    for (name, b) in TTL_BUCKETS.iter().zip(ttl) {
        let _ = write!(h, "<tr><td class=\"l\">{name}</td>");
        totals_cells(h, b, t.memory);
        h.push_str("</tr>");
    }
    h.push_str("</table>");
}

fn percentile_section(h: &mut String, s: &Summary) {
    h.push_str(
        "<h2 id=\"percentiles\">Per-type distribution</h2><table><tr><th class=\"l\">type</th>\
         <th>elements p50</th><th>p90</th><th>p99</th><th>max</th><th>memory p50</th><th>p90</th>\
         <th>p99</th><th>max</th></tr>",
    );
    for (t, st) in &s.stats {
        let e = &st.elements;
        let m = &st.memory;
        let _ = write!(
            h,
            "<tr><td class=\"l\">{t}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.quantile(0.5),
            e.quantile(0.9),
            e.quantile(0.99),
            e.max(),
            human_bytes(m.quantile(0.5)),
            human_bytes(m.quantile(0.9)),
            human_bytes(m.quantile(0.99)),
            human_bytes(m.max())
        );
    }
    h.push_str("</table>");
}

fn advice_section(h: &mut String, s: &Summary) {
    let t = &s.top.total;
    let a = &s.advice;
    h.push_str("<h2 id=\"advice\">Recommendations</h2><ul>");
    if a.big.keys > 0 {
        let _ = write!(
            h,
            "<li><b>Big keys</b>: {} keys of at least {} or {BIG_KEY_ELEMENTS} elements hold {} \
             ({:.1}% of memory). They block the server while deleted or migrated; split them or \
             delete with <code>UNLINK</code>. The biggest are listed above.</li>",
            a.big.keys,
            human_bytes(BIG_KEY_BYTES),
            human_bytes(a.big.memory),
            pct(a.big.memory, t.memory)
        );
    }
    for (ty, tally) in &a.just_above_entries {
        let _ = write!(
            h,
            "<li><b>{ty} just above the listpack limit</b>: {} keys ({}) have {}–{} elements, \
             all short, and are stored unpacked; <code>{ty}-max-listpack-entries {}</code> would \
             keep them as compact listpacks.</li>",
            tally.keys,
            human_bytes(tally.memory),
            LISTPACK_ENTRIES + 1,
            2 * LISTPACK_ENTRIES,
            2 * LISTPACK_ENTRIES
        );
    }
    for (ty, tally) in &a.just_above_value {
        let _ = write!(
            h,
            "<li><b>{ty} with one element just too long</b>: {} keys ({}) hold at most \
             {LISTPACK_ENTRIES} elements but one of {}–{} bytes, so they are stored unpacked; \
             <code>{ty}-max-listpack-value {}</code> would pack them.</li>",
            tally.keys,
            human_bytes(tally.memory),
            LISTPACK_VALUE + 1,
            2 * LISTPACK_VALUE,
            2 * LISTPACK_VALUE
        );
    }
    let no_ttl = &s.top.ttl[0];
    let _ = write!(
        h,
        "<li><b>Keys without TTL</b>: {} keys ({:.1}%) hold {} ({:.1}% of memory) and never \
         expire; check that caches among them set one.</li>",
        no_ttl.keys,
        pct(no_ttl.keys, t.keys),
        human_bytes(no_ttl.memory),
        pct(no_ttl.memory, t.memory)
    );
    let expired = &s.top.ttl[1];
    if expired.keys > 0 {
        let _ = write!(
            h,
            "<li><b>Already expired</b>: {} keys ({}) had expired when the dump was taken and \
             are dropped when it is loaded.</li>",
            expired.keys,
            human_bytes(expired.memory)
        );
    }
    let small = &a.small_prefixed_strings;
    if small.keys > 0 {
        let _ = write!(
            h,
            "<li><b>Small strings under prefixes</b>: {} strings of at most {SMALL_STRING} bytes \
             ({}, {:.1}% of memory) each pay for a key of their own; grouped as fields of hashes \
             of up to {LISTPACK_ENTRIES} fields they would be stored as listpacks.</li>",
            small.keys,
            human_bytes(small.memory),
            pct(small.memory, t.memory)
        );
    }
    h.push_str("</ul>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        assert_eq!(label_of(b""), "(no prefix)");
    }
}
