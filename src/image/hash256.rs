//! A 256-bit perceptual hash value, the unit that PDQ produces and that image
//! matching compares. It lives apart from the hasher so that storage and indexes can
//! use it without pulling in decoding.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// A 256-bit hash, as PDQ defines it.
///
/// Bit `k` (0..256) is the `k`-th coefficient of the 16 × 16 DCT in row-major order.
/// The hex form is the one of the reference implementation: 64 hex digits giving the
/// hash as one big-endian number, so bit 255 is the top bit of the first digit and
/// bit 0 the lowest bit of the last.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash256 {
    /// Big-endian 64-bit words: `words[0]` holds bits 255..192, `words[3]` bits 63..0.
    words: [u64; 4],
}

/// Why a string is not a 256-bit hash.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseHashError {
    /// The string does not have exactly 64 characters.
    #[error("a PDQ hash has 64 hex digits, this has {0} characters")]
    Length(usize),
    /// A character is not a hex digit.
    #[error("character {position} ({found:?}) is not a hex digit")]
    NotHex {
        /// 0-based character position.
        position: usize,
        /// The offending character.
        found: char,
    },
}

impl Hash256 {
    /// The hash with every bit cleared (what PDQ gives an image too small to hash).
    pub const ZERO: Hash256 = Hash256 { words: [0; 4] };

    /// Builds a hash from its four big-endian words (`words[0]` is the first 16 hex
    /// digits).
    pub const fn from_words(words: [u64; 4]) -> Hash256 {
        Hash256 { words }
    }

    /// The four big-endian words (`words[0]` is the first 16 hex digits).
    pub const fn words(&self) -> [u64; 4] {
        self.words
    }

    /// Whether bit `k` (0..256, see the type's documentation) is set.
    ///
    /// # Panics
    /// If `k >= 256`.
    pub fn bit(&self, k: usize) -> bool {
        assert!(k < 256, "bit index {k} out of range 0..256");
        (self.words[3 - k / 64] >> (k % 64)) & 1 == 1
    }

    /// Sets bit `k` (0..256).
    ///
    /// # Panics
    /// If `k >= 256`.
    pub fn set_bit(&mut self, k: usize) {
        assert!(k < 256, "bit index {k} out of range 0..256");
        self.words[3 - k / 64] |= 1 << (k % 64);
    }

    /// The number of bits that differ between the two hashes (0..=256).
    pub fn hamming(&self, other: &Hash256) -> u32 {
        self.words
            .iter()
            .zip(other.words.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }

    /// The number of set bits.
    pub fn count_ones(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }

    /// The 16 words of 16 bits, `chunk(0)` being the first four hex digits. Indexes
    /// split hashes this way (multi-index hashing).
    pub fn chunk16(&self, i: usize) -> u16 {
        // Truncation to the selected 16 bits is the point.
        (self.words[i / 4] >> (48 - 16 * (i % 4))) as u16
    }

    /// The hash as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for w in &self.words {
            write!(f, "{w:016x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash256({self})")
    }
}

impl FromStr for Hash256 {
    type Err = ParseHashError;

    /// Parses 64 hex digits (either case).
    fn from_str(s: &str) -> Result<Hash256, ParseHashError> {
        let count = s.chars().count();
        if count != 64 || s.len() != 64 {
            return Err(ParseHashError::Length(count));
        }
        let mut bytes = [0u8; 32];
        if let Err(err) = hex::decode_to_slice(s, &mut bytes) {
            let position = match err {
                hex::FromHexError::InvalidHexCharacter { index, .. } => index,
                _ => 0,
            };
            let found = s[position..].chars().next().unwrap_or('?');
            return Err(ParseHashError::NotHex { position, found });
        }
        let mut words = [0u64; 4];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut be = [0u8; 8];
            be.copy_from_slice(chunk);
            *word = u64::from_be_bytes(be);
        }
        Ok(Hash256 { words })
    }
}

impl serde::Serialize for Hash256 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Hash256 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Hash256, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BRIDGE: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    #[test]
    fn hex_round_trips() {
        let h: Hash256 = BRIDGE.parse().unwrap();
        assert_eq!(h.to_string(), BRIDGE);
        assert_eq!(h.to_hex(), BRIDGE);
        let upper: Hash256 = BRIDGE.to_uppercase().parse().unwrap();
        assert_eq!(upper, h);
    }

    #[test]
    fn bit_order_follows_the_reference() {
        // Bit 255 is the top bit of the first digit, bit 0 the lowest of the last.
        let mut h = Hash256::ZERO;
        h.set_bit(255);
        assert_eq!(h.to_string(), format!("8{}", "0".repeat(63)));
        let mut h = Hash256::ZERO;
        h.set_bit(0);
        assert_eq!(h.to_string(), format!("{}1", "0".repeat(63)));
        let mut h = Hash256::ZERO;
        h.set_bit(16);
        assert!(h.bit(16) && !h.bit(15) && !h.bit(17));
        assert_eq!(h.to_string(), format!("{}00010000", "0".repeat(56)));
    }

    #[test]
    fn chunks_read_the_hex_in_order() {
        let h: Hash256 = BRIDGE.parse().unwrap();
        assert_eq!(h.chunk16(0), 0xf8f8);
        assert_eq!(h.chunk16(1), 0xf0ce);
        assert_eq!(h.chunk16(15), 0x9b22);
    }

    #[test]
    fn hamming_counts_differing_bits() {
        let a: Hash256 = BRIDGE.parse().unwrap();
        assert_eq!(a.hamming(&a), 0);
        assert_eq!(a.hamming(&Hash256::ZERO), a.count_ones());
        let mut b = a;
        b.words[0] ^= 0b101;
        b.words[3] ^= 1 << 63;
        assert_eq!(a.hamming(&b), 3);
    }

    #[test]
    fn bad_strings_are_rejected_with_the_reason() {
        assert_eq!("abc".parse::<Hash256>(), Err(ParseHashError::Length(3)));
        let bad = format!("{}g{}", "0".repeat(10), "0".repeat(53));
        assert_eq!(
            bad.parse::<Hash256>(),
            Err(ParseHashError::NotHex {
                position: 10,
                found: 'g'
            })
        );
        // 64 bytes but fewer characters: must not panic on a char boundary.
        let multibyte = format!("é{}", "0".repeat(62));
        assert!(multibyte.parse::<Hash256>().is_err());
        let plus = format!("+{}", "0".repeat(63));
        assert!(plus.parse::<Hash256>().is_err());
    }

    #[test]
    fn serde_uses_the_hex_form() {
        let h: Hash256 = BRIDGE.parse().unwrap();
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{BRIDGE}\""));
        assert_eq!(serde_json::from_str::<Hash256>(&json).unwrap(), h);
    }

    proptest! {
        #[test]
        fn any_hash_round_trips(words in any::<[u64; 4]>()) {
            let h = Hash256::from_words(words);
            prop_assert_eq!(h.to_string().parse::<Hash256>().unwrap(), h);
            prop_assert_eq!(h.words(), words);
        }

        #[test]
        fn hamming_is_a_metric(a in any::<[u64; 4]>(), b in any::<[u64; 4]>(), c in any::<[u64; 4]>()) {
            let (a, b, c) = (Hash256::from_words(a), Hash256::from_words(b), Hash256::from_words(c));
            prop_assert_eq!(a.hamming(&b), b.hamming(&a));
            prop_assert!(a.hamming(&c) <= a.hamming(&b) + b.hamming(&c));
        }
    }
}
