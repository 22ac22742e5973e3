//! Charts drawn on the server as SVG: labelled horizontal bars and a squarified treemap.
//! Labels and values are text on the page, so nothing needs hovering and the page prints.

use std::fmt::Write;

use super::prefix_tree::PrefixTree;
use super::render::{esc, label_of};
use crate::human_bytes;

/// One bar: its label, its length and the text printed after it.
pub struct Bar {
    /// Shown left of the bar.
    pub label: String,
    /// The bar's length relative to the others.
    pub value: u64,
    /// Shown right of the bar.
    pub text: String,
}

/// A horizontal bar chart.
pub fn bars(out: &mut String, title: &str, rows: &[Bar]) {
    const WIDTH: u64 = 760;
    const LABEL: u64 = 150;
    const TEXT: u64 = 190;
    const ROW: u64 = 24;
    let height = ROW * rows.len() as u64 + 8;
    let max = rows.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let _ = write!(
        out,
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" \
         height=\"{height}\"><title>{}</title>",
        esc(title)
    );
    let span = WIDTH - LABEL - TEXT;
    for (i, b) in rows.iter().enumerate() {
        let y = 4 + ROW * i as u64;
        let w = (b.value as f64 / max as f64 * span as f64).round() as u64;
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{LABEL}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"c{}\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            LABEL - 8,
            y + 16,
            esc(&b.label),
            y + 3,
            w.max(1),
            ROW - 6,
            i % 8,
            LABEL + w + 6,
            y + 16,
            esc(&b.text)
        );
    }
    out.push_str("</svg>");
}

#[derive(Clone, Copy)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

/// Lays `areas` (biggest first, summing to the rectangle's area) out as squarified tiles.
fn squarify(areas: &[f64], mut rect: Rect) -> Vec<Rect> {
    fn worst(row: &[f64], side: f64) -> f64 {
        let sum: f64 = row.iter().sum();
        let max = row.iter().cloned().fold(0.0, f64::max);
        let min = row.iter().cloned().fold(f64::INFINITY, f64::min);
        if sum <= 0.0 || min <= 0.0 {
            return f64::INFINITY;
        }
        let s2 = sum * sum;
        let w2 = side * side;
        (w2 * max / s2).max(s2 / (w2 * min))
    }
    let mut out = Vec::with_capacity(areas.len());
    let mut i = 0;
    while i < areas.len() {
        let side = rect.w.min(rect.h).max(1e-9);
        let mut j = i + 1;
        let mut best = worst(&areas[i..j], side);
        while j < areas.len() {
            let w = worst(&areas[i..=j], side);
            if w > best {
                break;
            }
            best = w;
            j += 1;
        }
        let row = &areas[i..j];
        let sum: f64 = row.iter().sum();
        let thickness = if side > 0.0 { sum / side } else { 0.0 };
        let mut offset = 0.0;
        for &a in row {
            let len = if thickness > 0.0 { a / thickness } else { 0.0 };
            if rect.w >= rect.h {
                out.push(Rect {
                    x: rect.x,
                    y: rect.y + offset,
                    w: thickness,
                    h: len,
                });
            } else {
                out.push(Rect {
                    x: rect.x + offset,
                    y: rect.y,
                    w: len,
                    h: thickness,
                });
            }
            offset += len;
        }
        if rect.w >= rect.h {
            rect.x += thickness;
            rect.w = (rect.w - thickness).max(0.0);
        } else {
            rect.y += thickness;
            rect.h = (rect.h - thickness).max(0.0);
        }
        i = j;
    }
    out
}

/// Levels of the prefix tree drawn inside each other.
const TREEMAP_LEVELS: usize = 3;

/// A treemap of memory by prefix: `shown[i]` says whether node `i` is drawn; `total` is the
/// memory of all keys.
pub fn treemap(out: &mut String, tree: &PrefixTree, shown: &[bool], total: u64) {
    const WIDTH: f64 = 960.0;
    const HEIGHT: f64 = 520.0;
    let _ = write!(
        out,
        "<svg class=\"treemap\" role=\"img\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" \
         height=\"{HEIGHT}\"><title>Memory by key prefix</title>"
    );
    let children = tree.children_by_memory();
    let root = Rect {
        x: 0.0,
        y: 0.0,
        w: WIDTH,
        h: HEIGHT,
    };
    draw_children(out, tree, &children, shown, 0, root, 0, 0, total.max(1));
    out.push_str("</svg>");
}

#[allow(clippy::too_many_arguments)]
fn draw_children(
    out: &mut String,
    tree: &PrefixTree,
    children: &[Vec<usize>],
    shown: &[bool],
    node: usize,
    rect: Rect,
    level: usize,
    hue: usize,
    total: u64,
) {
    let nodes = tree.nodes();
    let kids: Vec<usize> = children[node]
        .iter()
        .copied()
        .filter(|&c| shown[c] && nodes[c].totals.memory > 0)
        .collect();
    if kids.is_empty() || level >= TREEMAP_LEVELS {
        return;
    }
    let parent_memory = nodes[node].totals.memory.max(1) as f64;
    let area = rect.w * rect.h;
    let mut areas: Vec<f64> = kids
        .iter()
        .map(|&c| nodes[c].totals.memory as f64 / parent_memory * area)
        .collect();
    // Keys directly under this prefix (or in prefixes not drawn) keep their share as space.
    let rest = (area - areas.iter().sum::<f64>()).max(0.0);
    if rest > 0.0 {
        areas.push(rest);
        // Squarify wants biggest first; the blank share is laid out where it sorts.
    }
    let mut order: Vec<usize> = (0..areas.len()).collect();
    order.sort_by(|&a, &b| areas[b].total_cmp(&areas[a]));
    let sorted: Vec<f64> = order.iter().map(|&i| areas[i]).collect();
    let tiles = squarify(&sorted, rect);
    for (k, tile) in order.iter().zip(tiles) {
        let Some(&child) = kids.get(*k) else {
            continue;
        };
        let n = &nodes[child];
        let hue = if level == 0 { k % 8 } else { hue };
        let pad = 1.5;
        let r = Rect {
            x: tile.x + pad,
            y: tile.y + pad,
            w: (tile.w - 2.0 * pad).max(0.0),
            h: (tile.h - 2.0 * pad).max(0.0),
        };
        let share = n.totals.memory as f64 * 100.0 / total as f64;
        let name = label_of(&tree.full_prefix(child));
        let _ = write!(
            out,
            "<g><title>{} — {} ({share:.1}%), {} keys</title>\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" class=\"c{hue} l{level}\"/>",
            esc(&name),
            human_bytes(n.totals.memory),
            n.totals.keys,
            r.x,
            r.y,
            r.w,
            r.h
        );
        // Text only where it fits: about 7 px per character at 12 px.
        let seg = label_of(&n.segment);
        let text = format!("{seg} {}", human_bytes(n.totals.memory));
        let fits = (text.chars().count() as f64) * 7.0 + 6.0 <= r.w && r.h >= 18.0;
        if fits {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"tl\">{}</text>",
                r.x + 4.0,
                r.y + 13.0,
                esc(&text)
            );
        }
        out.push_str("</g>");
        let inner = Rect {
            x: r.x + 2.0,
            y: r.y + if fits { 17.0 } else { 2.0 },
            w: (r.w - 4.0).max(0.0),
            h: (r.h - if fits { 19.0 } else { 4.0 }).max(0.0),
        };
        if inner.w > 24.0 && inner.h > 24.0 {
            draw_children(
                out,
                tree,
                children,
                shown,
                child,
                inner,
                level + 1,
                hue,
                total,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squarified_tiles_cover_the_rectangle() {
        let rect = Rect {
            x: 0.0,
            y: 0.0,
            w: 600.0,
            h: 400.0,
        };
        let areas = [120_000.0, 60_000.0, 30_000.0, 20_000.0, 10_000.0];
        let tiles = squarify(&areas, rect);
        assert_eq!(tiles.len(), 5);
        let covered: f64 = tiles.iter().map(|t| t.w * t.h).sum();
        assert!((covered - 240_000.0).abs() < 1.0);
        for t in &tiles {
            assert!(t.x >= 0.0 && t.y >= 0.0 && t.x + t.w <= 600.1 && t.y + t.h <= 400.1);
        }
    }
}
