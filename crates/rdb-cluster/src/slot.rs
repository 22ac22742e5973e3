//! Cluster hash slots: CRC16/XMODEM of the key, or of its `{hash tag}`, modulo 16384; and
//! how slots are divided between shards.

/// Number of hash slots in a Redis/Valkey cluster.
pub const SLOTS: usize = 16384;

/// CRC16/XMODEM (poly 0x1021, init 0, not reflected), as Redis's `crc16.c`.
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// CRC16/XMODEM of `data`.
pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ CRC16_TABLE[usize::from((crc >> 8) as u8 ^ b)]
    })
}

/// The part of a key that is hashed: what is between the first `{` and the first `}` after
/// it, when that is not empty; the whole key otherwise.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        if let Some(len) = key[open + 1..].iter().position(|&b| b == b'}') {
            if len > 0 {
                return &key[open + 1..open + 1 + len];
            }
        }
    }
    key
}

/// The hash slot of `key`.
///
/// ```
/// use rdb_cluster::slot::key_slot;
/// assert_eq!(key_slot(b"foo"), 12182);
/// assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
/// ```
pub fn key_slot(key: &[u8]) -> u16 {
    crc16(hash_tag(key)) & (SLOTS as u16 - 1)
}

/// Which shard owns each slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotLayout {
    owner: Vec<u16>,
    shards: usize,
}

impl SlotLayout {
    /// `n` shards with contiguous, even ranges, as `redis-cli --cluster create` assigns them
    /// (3 shards: 0-5460, 5461-10922, 10923-16383).
    pub fn even(n: usize) -> SlotLayout {
        let n = n.clamp(1, SLOTS);
        let per = SLOTS as f64 / n as f64;
        let mut owner = vec![0u16; SLOTS];
        let mut first = 0usize;
        let mut cursor = 0.0f64;
        for shard in 0..n {
            let mut last = (cursor + per - 1.0).round() as usize;
            if last > SLOTS - 1 || shard == n - 1 {
                last = SLOTS - 1;
            }
            last = last.max(first);
            for o in &mut owner[first..=last] {
                *o = shard as u16;
            }
            first = last + 1;
            cursor += per;
        }
        SlotLayout { owner, shards: n }
    }

    /// A layout from explicit ranges, one list of inclusive `(first, last)` ranges per shard.
    /// Slots no range covers belong to no shard ([`shard_of`](Self::shard_of) gives None).
    pub fn from_ranges(shards: &[Vec<(u16, u16)>]) -> SlotLayout {
        let mut owner = vec![u16::MAX; SLOTS];
        for (i, ranges) in shards.iter().enumerate() {
            for &(a, b) in ranges {
                let b = usize::from(b).min(SLOTS - 1);
                for o in owner.iter_mut().take(b + 1).skip(usize::from(a)) {
                    *o = i as u16;
                }
            }
        }
        SlotLayout {
            owner,
            shards: shards.len(),
        }
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.shards
    }

    /// The shard owning `slot`, if any.
    pub fn shard_of(&self, slot: u16) -> Option<usize> {
        match self.owner.get(usize::from(slot)) {
            Some(&o) if o != u16::MAX => Some(usize::from(o)),
            _ => None,
        }
    }

    /// The inclusive slot ranges of `shard`.
    pub fn ranges(&self, shard: usize) -> Vec<(u16, u16)> {
        let mut out: Vec<(u16, u16)> = Vec::new();
        for (slot, &o) in self.owner.iter().enumerate() {
            if usize::from(o) == shard && o != u16::MAX {
                match out.last_mut() {
                    Some((_, last)) if usize::from(*last) + 1 == slot => *last = slot as u16,
                    _ => out.push((slot as u16, slot as u16)),
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_reference_values() {
        // From the Redis cluster specification.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(hash_tag(b"{}foo"), b"{}foo");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar"), b"foo{bar");
    }

    #[test]
    fn even_ranges_match_redis_cli() {
        let l = SlotLayout::even(3);
        assert_eq!(l.ranges(0), vec![(0, 5460)]);
        assert_eq!(l.ranges(1), vec![(5461, 10922)]);
        assert_eq!(l.ranges(2), vec![(10923, 16383)]);
        let l = SlotLayout::even(1);
        assert_eq!(l.ranges(0), vec![(0, 16383)]);
        for n in [2, 5, 7, 100, 16384] {
            let l = SlotLayout::even(n);
            let total: usize = (0..n)
                .flat_map(|s| l.ranges(s))
                .map(|(a, b)| usize::from(b - a) + 1)
                .sum();
            assert_eq!(total, SLOTS, "{n} shards");
        }
        let l = SlotLayout::from_ranges(&[vec![(0, 10)], vec![(11, 16383)]]);
        assert_eq!(l.shard_of(10), Some(0));
        assert_eq!(l.shard_of(11), Some(1));
        let l = SlotLayout::from_ranges(&[vec![(0, 10)]]);
        assert_eq!(l.shard_of(11), None);
    }
}
