//! CRC-32C (Castagnoli, RFC 3720), the checksum of Zarr's `crc32c` codec
//! and of shard indexes. Not CRC-32/IEEE (`crc32fast`): a different
//! polynomial. A table-driven byte-at-a-time loop: it runs over shard
//! indexes and over chunks only when they are copied, never when mapped.

/// The reflected Castagnoli polynomial.
const POLYNOMIAL: u32 = 0x82F6_3B78;

const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = byte as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ POLYNOMIAL
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
};

/// The CRC-32C of `bytes`.
pub(crate) fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc = TABLE[((crc ^ u32::from(byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::crc32c;

    #[test]
    fn check_values_are_castagnolis_not_ieees() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_ne!(crc32c(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn the_shard_index_recorded_in_the_reference_checks() {
        // zarr-reference.md §3.2: the index of shard c/0/0 of a 70×64 f8 array.
        let mut index = Vec::new();
        for (offset, nbytes) in [
            (0u64, 2048u64),
            (u64::MAX, u64::MAX),
            (2048, 2048),
            (4096, 2048),
        ] {
            index.extend_from_slice(&offset.to_le_bytes());
            index.extend_from_slice(&nbytes.to_le_bytes());
        }
        assert_eq!(crc32c(&index), 0x6AEC_CB86);
    }
}
