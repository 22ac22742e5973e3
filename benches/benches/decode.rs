//! Library throughput on one dump (`RDB_BENCH_FILE`, default: the quick generated dataset):
//! record scan, scan + CRC64, CRC64 alone, full decode, LZF, JSON.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rdb_benches::{bench_file, full_decode, scan};
use rdb_export::json::{JsonOptions, JsonWriter};
use rdb_format::{crc64, Decoder, DecoderOptions};

fn decode(c: &mut Criterion) {
    let path = bench_file();
    let data = std::fs::read(&path).expect("benchmark dump");
    eprintln!("benchmark dump: {} ({} bytes)", path.display(), data.len());
    let mut g = c.benchmark_group("dump");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("crc64", |b| b.iter(|| crc64(black_box(&data))));
    g.bench_function("scan", |b| b.iter(|| scan(black_box(&data), false)));
    g.bench_function("scan+crc64", |b| b.iter(|| scan(black_box(&data), true)));
    g.bench_function("full_decode", |b| b.iter(|| full_decode(black_box(&data))));
    g.bench_function("json", |b| {
        b.iter(|| {
            let options = DecoderOptions {
                verify_checksum: false,
                ..DecoderOptions::default()
            };
            let mut w = JsonWriter::new(std::io::sink(), JsonOptions::default());
            w.write_dump(Decoder::with_options(&data, options).unwrap())
                .unwrap();
        })
    });
    g.finish();
}

fn lzf(c: &mut Criterion) {
    // Compressible text compressed by a simple literal+back-reference scheme Redis-like data
    // produces: runs of repeated words.
    let text: Vec<u8> = b"user:1234:session:"
        .iter()
        .cycle()
        .take(1 << 20)
        .copied()
        .collect();
    let compressed = lzf_compress_repeats(&text);
    let mut out = vec![0u8; text.len()];
    let mut g = c.benchmark_group("lzf");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("decompress", |b| {
        b.iter(|| rdb_format::lzf::decompress(black_box(&compressed), &mut out).unwrap())
    });
    // What decoding an LZF string costs: the length is proven before the output is allocated.
    g.bench_function("validate+decompress", |b| {
        b.iter(|| {
            rdb_format::lzf::validate(black_box(&compressed), out.len()).unwrap();
            rdb_format::lzf::decompress(black_box(&compressed), &mut out).unwrap()
        })
    });
    g.finish();
    assert_eq!(out, text);
}

/// Compresses data made of one repeated period: a literal run, then maximal back-references.
fn lzf_compress_repeats(text: &[u8]) -> Vec<u8> {
    let period = 18;
    let mut out = vec![(period - 1) as u8];
    out.extend_from_slice(&text[..period]);
    let mut pos = period;
    while pos < text.len() {
        let len = (text.len() - pos).min(264);
        if len < 3 {
            out.push((len - 1) as u8);
            out.extend_from_slice(&text[pos..pos + len]);
            break;
        }
        let back = period - 1;
        let l = len - 2;
        if l < 7 {
            out.push(((l << 5) | (back >> 8)) as u8);
        } else {
            out.push(((7 << 5) | (back >> 8)) as u8);
            out.push((l - 7) as u8);
        }
        out.push((back & 0xFF) as u8);
        pos += len;
    }
    out
}

criterion_group!(benches, decode, lzf);
criterion_main!(benches);
