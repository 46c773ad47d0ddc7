//! DUMP payloads for `RESTORE`, used only to seed big datasets fast; rule: byte-for-byte the layout Redis ≥ 7.0 emits for a small hash (RDB type 16 = listpack hash, RDB version 10, CRC-64/Jones footer), so RESTORE yields the same hash HSET would.
//!
//! A RESTORE builds the hash in one allocation, where an HSET of ten new
//! fields reallocates the listpack ten times; for millions of keys that is
//! the difference between minutes and seconds. Callers must fall back to
//! HSET when the server refuses the payload (Redis before 7.0).

/// `RDB_TYPE_HASH_LISTPACK`.
const RDB_TYPE_HASH_LISTPACK: u8 = 16;
/// RDB version written in the footer (Redis 7.0; later versions accept it).
const RDB_VERSION: u16 = 10;
/// Redis's default `hash-max-listpack-entries`; bigger hashes are not encoded here.
pub const MAX_LISTPACK_FIELDS: usize = 128;

/// A value stored in a listpack entry.
pub enum Entry<'a> {
    Str(&'a [u8]),
    Int(i64),
}

/// The DUMP payload of a hash with these fields (field names as strings,
/// values as integers), or `None` when the hash is too big for a listpack.
pub fn hash_payload(fields: &[(&str, i64)]) -> Option<Vec<u8>> {
    if fields.is_empty() || fields.len() > MAX_LISTPACK_FIELDS {
        return None;
    }
    let mut lp = Vec::with_capacity(16 + fields.len() * 24);
    lp.extend_from_slice(&[0, 0, 0, 0]);
    lp.extend_from_slice(&((fields.len() * 2) as u16).to_le_bytes());
    for (name, value) in fields {
        if name.len() > 63 {
            return None;
        }
        push_entry(&mut lp, Entry::Str(name.as_bytes()));
        push_entry(&mut lp, Entry::Int(*value));
    }
    lp.push(0xFF);
    let total = lp.len() as u32;
    lp[0..4].copy_from_slice(&total.to_le_bytes());

    let mut payload = Vec::with_capacity(lp.len() + 16);
    payload.push(RDB_TYPE_HASH_LISTPACK);
    push_rdb_len(&mut payload, lp.len());
    payload.extend_from_slice(&lp);
    payload.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64_jones(&payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    Some(payload)
}

/// One listpack entry: encoding + data, then the back-length.
pub fn push_entry(lp: &mut Vec<u8>, entry: Entry<'_>) {
    let start = lp.len();
    match entry {
        Entry::Int(v) if (0..=127).contains(&v) => lp.push(v as u8),
        Entry::Int(v) if (-4096..=4095).contains(&v) => {
            let u = (v as u64) & 0x1FFF;
            lp.push(0xC0 | (u >> 8) as u8);
            lp.push((u & 0xFF) as u8);
        }
        Entry::Int(v) if (i16::MIN as i64..=i16::MAX as i64).contains(&v) => {
            lp.push(0xF1);
            lp.extend_from_slice(&(v as i16).to_le_bytes());
        }
        Entry::Int(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
            lp.push(0xF2);
            lp.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        }
        Entry::Int(v) if (i32::MIN as i64..=i32::MAX as i64).contains(&v) => {
            lp.push(0xF3);
            lp.extend_from_slice(&(v as i32).to_le_bytes());
        }
        Entry::Int(v) => {
            lp.push(0xF4);
            lp.extend_from_slice(&v.to_le_bytes());
        }
        Entry::Str(s) if s.len() < 64 => {
            lp.push(0x80 | s.len() as u8);
            lp.extend_from_slice(s);
        }
        Entry::Str(s) if s.len() < 4096 => {
            lp.push(0xE0 | (s.len() >> 8) as u8);
            lp.push((s.len() & 0xFF) as u8);
            lp.extend_from_slice(s);
        }
        Entry::Str(s) => {
            lp.push(0xF0);
            lp.extend_from_slice(&(s.len() as u32).to_le_bytes());
            lp.extend_from_slice(s);
        }
    }
    let l = lp.len() - start;
    // lpEncodeBacklen
    if l <= 127 {
        lp.push(l as u8);
    } else if l < 16383 {
        lp.push((l >> 7) as u8);
        lp.push(((l & 127) | 128) as u8);
    } else if l < 2_097_151 {
        lp.push((l >> 14) as u8);
        lp.push((((l >> 7) & 127) | 128) as u8);
        lp.push(((l & 127) | 128) as u8);
    } else {
        lp.push((l >> 21) as u8);
        lp.push((((l >> 14) & 127) | 128) as u8);
        lp.push((((l >> 7) & 127) | 128) as u8);
        lp.push(((l & 127) | 128) as u8);
    }
}

/// `rdbSaveLen`.
fn push_rdb_len(out: &mut Vec<u8>, len: usize) {
    if len < (1 << 6) {
        out.push(len as u8);
    } else if len < (1 << 14) {
        out.push(0x40 | (len >> 8) as u8);
        out.push((len & 0xFF) as u8);
    } else {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// CRC-64/Jones as Redis computes it (reflected, init 0, no final xor).
pub fn crc64_jones(data: &[u8]) -> u64 {
    static TABLE: std::sync::OnceLock<[u64; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        // 0xad93d23594c935a9 bit-reversed.
        const POLY: u64 = 0x95ac_9329_ac4b_c9b5;
        let mut t = [0u64; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut crc = i as u64;
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ POLY
                } else {
                    crc >> 1
                };
            }
            *slot = crc;
        }
        t
    });
    let mut crc = 0u64;
    for &b in data {
        crc = table[((crc ^ u64::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_check_value() {
        // Redis's crc64.c self-test value.
        assert_eq!(crc64_jones(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn entries_use_the_smallest_encoding() {
        let enc = |v: i64| {
            let mut lp = Vec::new();
            push_entry(&mut lp, Entry::Int(v));
            lp
        };
        assert_eq!(enc(5), vec![5, 1]);
        assert_eq!(enc(-1), vec![0xDF, 0xFF, 2]);
        assert_eq!(enc(1000), vec![0xC3, 0xE8, 2]);
        assert_eq!(enc(30000), vec![0xF1, 0x30, 0x75, 3]);
        assert_eq!(enc(1_000_000), vec![0xF2, 0x40, 0x42, 0x0F, 4]);
        assert_eq!(enc(100_000_000), vec![0xF3, 0x00, 0xE1, 0xF5, 0x05, 5]);
        assert_eq!(enc(1 << 40)[0], 0xF4);
        let mut lp = Vec::new();
        push_entry(&mut lp, Entry::Str(b"abc"));
        assert_eq!(lp, vec![0x83, b'a', b'b', b'c', 4]);
    }

    #[test]
    fn too_big_hashes_are_refused() {
        let many: Vec<(&str, i64)> = (0..129).map(|_| ("f", 1)).collect();
        assert!(hash_payload(&many).is_none());
        assert!(hash_payload(&[]).is_none());
        assert!(hash_payload(&[("a", 1)]).is_some());
    }
}
