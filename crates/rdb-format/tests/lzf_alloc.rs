//! An LZF string's declared length is a claim: memory for it is taken only once the compressed
//! bytes are known to produce exactly that much. Counted with a global allocator, so this
//! file holds one test (tests of one binary share the allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use rdb_format::write::{length, rdb_string, RdbWriter};
use rdb_format::{Decoder, Flavor, Item, Scratch, Value, Version};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A dump with one string whose LZF form is `compressed`, claiming `claimed` bytes.
fn dump_with_lzf(compressed: &[u8], claimed: u64) -> Vec<u8> {
    let target = Version {
        flavor: Flavor::Redis,
        number: 11,
    };
    let mut w = RdbWriter::new(Vec::new(), target).unwrap();
    w.select_db(0).unwrap();
    let mut value = vec![0xC3];
    length(&mut value, compressed.len() as u64);
    length(&mut value, claimed);
    value.extend_from_slice(compressed);
    let mut key = Vec::new();
    rdb_string(&mut key, b"k");
    let mut rec = vec![0u8];
    rec.extend(key);
    rec.extend(value);
    w.raw(&rec).unwrap();
    w.finish().unwrap()
}

/// Peak bytes allocated (above what was live before) while decoding every value of `data`,
/// and whether decoding succeeded.
fn decode_peak(data: &[u8]) -> (usize, Result<usize, rdb_format::Error>) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let r = (|| {
        let scratch = Scratch::new();
        let mut total = 0;
        for item in Decoder::new(data)? {
            if let Item::Record(r) = item? {
                if let Value::String(s) = r.value(&scratch)? {
                    total += s.len();
                }
            }
        }
        Ok(total)
    })();
    (PEAK.load(Ordering::Relaxed) - before, r)
}

#[test]
fn lzf_declared_length_is_allocated_only_when_the_data_produces_it() {
    // 100 000 compressed bytes of one-byte literals: 50 000 bytes of output, claimed 88 times
    // the compressed size (the most any LZF data can expand, so a plain ratio cap allows it).
    let compressed: Vec<u8> = (0..50_000u32).flat_map(|i| [0u8, i as u8]).collect();
    let claimed = compressed.len() as u64 * 88;
    let data = dump_with_lzf(&compressed, claimed);
    let (peak, r) = decode_peak(&data);
    let err = r.unwrap_err();
    assert!(err.to_string().contains("LZF"), "{err}");
    assert!(
        peak < 1 << 20,
        "a false LZF claim of {claimed} bytes cost {peak} bytes of memory"
    );

    // A claim within 4 times the compressed size is allocated before it is checked (proving
    // it would cost more than it risks), so a false one costs at most that.
    let data = dump_with_lzf(&compressed, compressed.len() as u64 * 4);
    let (peak, r) = decode_peak(&data);
    assert!(r.is_err());
    assert!(peak < compressed.len() * 4 + (1 << 19), "{peak}");

    // The same data claiming what it really produces decodes, costing about that much.
    let data = dump_with_lzf(&compressed, 50_000);
    let (peak, r) = decode_peak(&data);
    assert_eq!(r.unwrap(), 50_000);
    assert!(peak < 1 << 20, "{peak}");

    // Highly compressible data: a literal then back-references of 264 bytes each.
    let mut compressed = vec![0u8, b'a'];
    for _ in 0..10_000 {
        compressed.extend_from_slice(&[0xE0, 255, 0]);
    }
    let produced = 1 + 10_000 * 264;
    let (_, r) = decode_peak(&dump_with_lzf(&compressed, produced as u64));
    assert_eq!(r.unwrap(), produced);
    let (peak, r) = decode_peak(&dump_with_lzf(&compressed, produced as u64 + 1));
    assert!(r.is_err());
    assert!(peak < 1 << 20, "{peak}");
}
