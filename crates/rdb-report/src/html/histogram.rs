//! A fixed-size log-linear histogram for percentiles: exact below 64, within ~3 % above.

/// Sub-buckets per power of two (2^5 = 32: a bucket spans at most 1/32 of its value).
const SUB_BITS: u32 = 5;
/// Values below this are counted exactly.
const EXACT: u64 = 1 << (SUB_BITS + 1);
/// Buckets: the exact ones, then 32 per power of two from 2^6 to 2^63.
const BUCKETS: usize = EXACT as usize + (64 - (SUB_BITS as usize + 1)) * (1 << SUB_BITS);

/// Counts of values in log-linear buckets, plus the exact maximum.
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    /// Allocated on first use, so empty histograms of chunk parts cost nothing.
    counts: Vec<u64>,
    count: u64,
    max: u64,
}

fn bucket_of(v: u64) -> usize {
    if v < EXACT {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros();
    let mantissa = (v >> (exp - SUB_BITS)) & ((1 << SUB_BITS) - 1);
    EXACT as usize + ((exp - SUB_BITS - 1) as usize) * (1 << SUB_BITS) + mantissa as usize
}

/// The smallest value of bucket `i`.
fn bucket_floor(i: usize) -> u64 {
    if i < EXACT as usize {
        return i as u64;
    }
    let rest = i - EXACT as usize;
    let exp = (rest >> SUB_BITS) as u32 + SUB_BITS + 1;
    let mantissa = (rest & ((1 << SUB_BITS) - 1)) as u64;
    ((1u64 << SUB_BITS) | mantissa) << (exp - SUB_BITS)
}

impl Histogram {
    /// Counts one value.
    pub fn add(&mut self, v: u64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        self.counts[bucket_of(v)] += 1;
        self.count += 1;
        self.max = self.max.max(v);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        if other.counts.is_empty() {
            return;
        }
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.max = self.max.max(other.max);
    }

    /// The largest value seen.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0..=1): the floor of its bucket, at most the maximum.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_floor(i).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_trip() {
        for v in [0u64, 1, 63, 64, 65, 100, 1000, 123_456, u64::MAX] {
            let floor = bucket_floor(bucket_of(v));
            assert!(floor <= v, "{v}");
            assert!(v - floor <= v / 32, "{v} -> {floor}");
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles() {
        let mut h = Histogram::default();
        for v in 1..=100 {
            h.add(v);
        }
        assert_eq!(h.quantile(0.5), 50);
        assert!((88..=90).contains(&h.quantile(0.9)));
        assert_eq!(h.max(), 100);
        assert_eq!(Histogram::default().quantile(0.5), 0);
    }
}
