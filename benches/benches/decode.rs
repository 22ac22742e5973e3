//! Library throughput on one dump (`RDB_BENCH_FILE`, default: the quick generated dataset):
//! record scan, scan + CRC64, CRC64 alone, full decode, LZF, JSON; and our LZF decoder
//! against C liblzf's on the dump's own strings.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rdb_benches::{bench_file, full_decode, scan};
use rdb_export::json::{JsonOptions, JsonWriter};
use rdb_format::{crc64, Decoder, DecoderOptions, Item, Scratch, Str, Value};

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
    // Checked up front: a filter may skip the benchmarks below.
    rdb_format::lzf::decompress(&compressed, &mut out).unwrap();
    assert_eq!(out, text);
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

/// Our decoder against C liblzf 3.6 (the library Redis vendors), both decompressing the
/// dump's strings of over 20 bytes as liblzf's own `lzf_compress` packs them, which is what
/// Redis writes. liblzf is loaded at run time (Debian: `apt install liblzf1`); without it
/// the group is skipped.
fn lzf_vs_liblzf(c: &mut Criterion) {
    let Some(c_lzf) = LibLzf::load() else {
        eprintln!("liblzf.so.1 not found (apt install liblzf1): lzf_vs_liblzf skipped");
        return;
    };
    let data = std::fs::read(bench_file()).expect("benchmark dump");
    let mut strings: Vec<(Vec<u8>, usize)> = Vec::new();
    let options = DecoderOptions {
        verify_checksum: false,
        ..DecoderOptions::default()
    };
    let scratch = Scratch::new();
    for item in Decoder::with_options(&data, options).expect("header") {
        if let Item::Record(r) = item.expect("decode") {
            if let Ok(Value::String(Str::Bytes(s))) = r.value(&scratch) {
                if s.len() > 20 {
                    if let Some(packed) = c_lzf.compress(s) {
                        strings.push((packed, s.len()));
                    }
                }
            }
        }
    }
    let out_bytes: usize = strings.iter().map(|s| s.1).sum();
    let in_bytes: usize = strings.iter().map(|s| s.0.len()).sum();
    eprintln!(
        "lzf_vs_liblzf: {} strings, {in_bytes} compressed bytes, {out_bytes} out",
        strings.len()
    );
    let mut out = vec![0u8; strings.iter().map(|s| s.1).max().unwrap_or(0)];
    let mut g = c.benchmark_group("lzf_vs_liblzf");
    g.throughput(Throughput::Bytes(out_bytes as u64));
    g.bench_function("ours", |b| {
        b.iter(|| {
            for (packed, len) in &strings {
                rdb_format::lzf::decompress(black_box(packed), &mut out[..*len]).unwrap();
            }
        })
    });
    g.bench_function("liblzf", |b| {
        b.iter(|| {
            for (packed, len) in &strings {
                assert_eq!(c_lzf.decompress(black_box(packed), &mut out[..*len]), *len);
            }
        })
    });
    g.finish();
}

type LzfFn = unsafe extern "C" fn(
    *const std::ffi::c_void,
    std::ffi::c_uint,
    *mut std::ffi::c_void,
    std::ffi::c_uint,
) -> std::ffi::c_uint;

/// liblzf's two entry points, from the shared library.
struct LibLzf {
    compress: LzfFn,
    decompress: LzfFn,
}

#[allow(unsafe_code)]
impl LibLzf {
    fn load() -> Option<LibLzf> {
        // SAFETY: dlopen/dlsym with NUL-terminated names; the symbols have liblzf's
        // documented signature (lzf.h); the library stays loaded for the process.
        unsafe {
            let lib = libc::dlopen(c"liblzf.so.1".as_ptr(), libc::RTLD_NOW);
            if lib.is_null() {
                return None;
            }
            let compress = libc::dlsym(lib, c"lzf_compress".as_ptr());
            let decompress = libc::dlsym(lib, c"lzf_decompress".as_ptr());
            if compress.is_null() || decompress.is_null() {
                return None;
            }
            Some(LibLzf {
                compress: std::mem::transmute::<*mut libc::c_void, LzfFn>(compress),
                decompress: std::mem::transmute::<*mut libc::c_void, LzfFn>(decompress),
            })
        }
    }

    /// As Redis does: kept only if it saves more than 4 bytes.
    fn compress(&self, s: &[u8]) -> Option<Vec<u8>> {
        let mut out = vec![0u8; s.len() - 4];
        // SAFETY: both buffers valid for the lengths given.
        let n = unsafe {
            (self.compress)(
                s.as_ptr().cast(),
                s.len() as u32,
                out.as_mut_ptr().cast(),
                out.len() as u32,
            )
        } as usize;
        (n > 0).then(|| {
            out.truncate(n);
            out
        })
    }

    fn decompress(&self, packed: &[u8], out: &mut [u8]) -> usize {
        // SAFETY: both buffers valid for the lengths given; liblzf checks its bounds.
        unsafe {
            (self.decompress)(
                packed.as_ptr().cast(),
                packed.len() as u32,
                out.as_mut_ptr().cast(),
                out.len() as u32,
            ) as usize
        }
    }
}

criterion_group!(benches, decode, lzf, lzf_vs_liblzf);
criterion_main!(benches);
