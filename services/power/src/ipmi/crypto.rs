//! RMCP+ cryptography for cipher suites 3 and 17, in our code rather than
//! `ipmi-rs` (whose SHA-256 paths are unimplemented panics): RAKP key-exchange codes, the
//! session integrity key (SIK) and the K1/K2 derivation, the integrity trailer
//! (HMAC-SHA1-96 or HMAC-SHA256-128) and AES-CBC-128 with IPMI's own padding
//! (IPMI 2.0 §13.28–13.31).
//!
//! Every function here is total: lengths are checked before slicing, and bad
//! input gives `None`/an error, never a panic.

use aes::Aes128;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// Which hash every step of a suite uses: suite 3 is SHA-1 throughout, suite 17
/// SHA-256 throughout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// RAKP-HMAC-SHA1 + HMAC-SHA1-96.
    Sha1,
    /// RAKP-HMAC-SHA256 + HMAC-SHA256-128.
    Sha256,
}

/// The two cipher suites we speak; both encrypt with AES-CBC-128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherSuite {
    /// Suite 3: RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128.
    Three,
    /// Suite 17: RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128.
    Seventeen,
}

impl CipherSuite {
    /// From Ironic's `ipmi_cipher_suite`; None for suites we do not speak.
    pub fn from_id(id: u64) -> Option<Self> {
        match id {
            3 => Some(Self::Three),
            17 => Some(Self::Seventeen),
            _ => None,
        }
    }

    /// The suite number.
    pub fn id(self) -> u8 {
        match self {
            Self::Three => 3,
            Self::Seventeen => 17,
        }
    }

    /// The hash of all its steps.
    pub fn hash(self) -> Hash {
        match self {
            Self::Three => Hash::Sha1,
            Self::Seventeen => Hash::Sha256,
        }
    }

    /// Authentication algorithm number in Open Session (RAKP-HMAC-SHA1 = 1,
    /// RAKP-HMAC-SHA256 = 3).
    pub fn auth_algorithm(self) -> u8 {
        match self {
            Self::Three => 0x01,
            Self::Seventeen => 0x03,
        }
    }

    /// Integrity algorithm number (HMAC-SHA1-96 = 1, HMAC-SHA256-128 = 4).
    pub fn integrity_algorithm(self) -> u8 {
        match self {
            Self::Three => 0x01,
            Self::Seventeen => 0x04,
        }
    }

    /// Confidentiality algorithm number (AES-CBC-128 = 1).
    pub fn confidentiality_algorithm(self) -> u8 {
        0x01
    }
}

impl Hash {
    /// Full HMAC output length: the RAKP 2/3 key-exchange code length.
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
        }
    }

    /// Truncated length of the RAKP 4 integrity check value and of the session
    /// integrity trailer (96 or 128 bits).
    pub fn icv_len(self) -> usize {
        match self {
            Hash::Sha1 => 12,
            Hash::Sha256 => 16,
        }
    }

    /// HMAC over the concatenation of `parts`.
    pub fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Hash::Sha1 => {
                // new_from_slice accepts keys of any length (HMAC hashes long keys).
                let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else { return Vec::new() };
                parts.iter().for_each(|p| mac.update(p));
                mac.finalize().into_bytes().to_vec()
            }
            Hash::Sha256 => {
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return Vec::new() };
                parts.iter().for_each(|p| mac.update(p));
                mac.finalize().into_bytes().to_vec()
            }
        }
    }
}

/// Compares MACs without an early exit, so timing does not tell how much matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The keys of an established session, derived from the SIK.
#[derive(Clone)]
pub struct SessionKeys {
    hash: Hash,
    k1: Vec<u8>,
    aes_key: [u8; 16],
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys").field("hash", &self.hash).finish_non_exhaustive()
    }
}

impl SessionKeys {
    /// K1 = HMAC_SIK(0x01 × 20) keys integrity; K2 = HMAC_SIK(0x02 × 20), first
    /// 16 bytes, keys AES (§13.32). The constants are 20 bytes for SHA-256 too:
    /// the spec defines them so, and ipmitool (hence every BMC tested against it)
    /// uses 20 — checked by `tests/cipher17.rs` against `ipmitool -C 17`.
    pub fn derive(hash: Hash, sik: &[u8]) -> Self {
        let k1 = hash.hmac(sik, &[&[0x01; 20]]);
        let k2 = hash.hmac(sik, &[&[0x02; 20]]);
        let mut aes_key = [0u8; 16];
        aes_key.copy_from_slice(&k2[..16]);
        Self { hash, k1, aes_key }
    }

    /// The integrity trailer's AuthCode over `data`.
    pub fn auth_code(&self, data: &[u8]) -> Vec<u8> {
        let mut mac = self.hash.hmac(&self.k1, &[data]);
        mac.truncate(self.hash.icv_len());
        mac
    }

    /// Length of the AuthCode in the trailer.
    pub fn auth_code_len(&self) -> usize {
        self.hash.icv_len()
    }

    /// AES-CBC-128 with IPMI's confidentiality pad: pad bytes 1, 2, 3, ... then the
    /// pad length, to a multiple of 16; the IV is prepended.
    pub fn encrypt(&self, iv: [u8; 16], plaintext: &[u8]) -> Vec<u8> {
        encrypt(&self.aes_key, iv, plaintext)
    }

    /// Inverse of [`encrypt`](Self::encrypt); None when the length or the pad is wrong.
    pub fn decrypt(&self, data: &[u8]) -> Option<Vec<u8>> {
        decrypt(&self.aes_key, data)
    }
}

/// AES-CBC-128 encryption with the IPMI pad, IV first.
pub fn encrypt(key: &[u8; 16], iv: [u8; 16], plaintext: &[u8]) -> Vec<u8> {
    let pad = (16 - (plaintext.len() + 1) % 16) % 16;
    let mut buf = Vec::with_capacity(16 + plaintext.len() + pad + 1);
    buf.extend_from_slice(plaintext);
    buf.extend((1..=pad).map(|i| i as u8));
    buf.push(pad as u8);
    let len = buf.len();
    let encryptor = cbc::Encryptor::<Aes128>::new(key.into(), &iv.into());
    // The buffer is a whole number of blocks, so NoPadding cannot fail.
    let encrypted = match encryptor.encrypt_padded_mut::<NoPadding>(&mut buf, len) {
        Ok(out) => out.to_vec(),
        Err(_) => Vec::new(),
    };
    let mut out = iv.to_vec();
    out.extend_from_slice(&encrypted);
    out
}

/// AES-CBC-128 decryption of IV + ciphertext, checking and removing the IPMI pad.
pub fn decrypt(key: &[u8; 16], data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < 32 || !data.len().is_multiple_of(16) {
        return None;
    }
    let (iv, ciphertext) = data.split_at(16);
    let mut iv_block = [0u8; 16];
    iv_block.copy_from_slice(iv);
    let mut buf = ciphertext.to_vec();
    let decryptor = cbc::Decryptor::<Aes128>::new(key.into(), &iv_block.into());
    let plain = decryptor.decrypt_padded_mut::<NoPadding>(&mut buf).ok()?;
    let (&pad, rest) = plain.split_last()?;
    let pad = usize::from(pad);
    if pad > 15 || pad > rest.len() {
        return None;
    }
    let (payload, pad_bytes) = rest.split_at(rest.len() - pad);
    // The spec fixes the pad bytes; a BMC that gets them wrong still decrypts, so
    // only the length is enforced (as ipmitool does).
    let _ = pad_bytes;
    Some(payload.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    // RFC 4231 test case 2 (HMAC-SHA256) and RFC 2202 test case 2 (HMAC-SHA1):
    // published vectors for the primitive under suites 17 and 3.
    #[test]
    fn hmac_matches_published_vectors() {
        let data = b"what do ya want for nothing?";
        assert_eq!(
            Hash::Sha256.hmac(b"Jefe", &[&data[..10], &data[10..]]),
            hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
        assert_eq!(Hash::Sha1.hmac(b"Jefe", &[data]), hex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"));
        // RFC 4231 test case 6: a key longer than the block size is hashed first.
        let key = vec![0xaa; 131];
        assert_eq!(
            Hash::Sha256.hmac(&key, &[b"Test Using Larger Than Block-Size Key - Hash Key First"]),
            hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        );
    }

    // NIST SP 800-38A F.2.1 CBC-AES128.Encrypt, first two blocks: the cipher
    // under the IPMI padding.
    #[test]
    fn aes_cbc_matches_nist_vector() {
        let key: [u8; 16] = hex("2b7e151628aed2a6abf7158809cf4f3c").try_into().unwrap();
        let iv: [u8; 16] = hex("000102030405060708090a0b0c0d0e0f").try_into().unwrap();
        let plain = hex("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51");
        // 32 bytes of payload need a whole extra block of IPMI pad; the first two
        // ciphertext blocks are the NIST ones.
        let out = encrypt(&key, iv, &plain);
        assert_eq!(out.len(), 16 + 48);
        assert_eq!(
            &out[16..48],
            &hex("7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2")[..]
        );
        assert_eq!(decrypt(&key, &out).unwrap(), plain);
    }

    #[test]
    fn padding_round_trips_every_length() {
        let key = [7u8; 16];
        for len in 0..70 {
            let plain: Vec<u8> = (0..len as u8).collect();
            let out = encrypt(&key, [3u8; 16], &plain);
            assert_eq!(out.len() % 16, 0);
            assert_eq!(decrypt(&key, &out).unwrap(), plain, "len {len}");
        }
    }

    #[test]
    fn decrypt_rejects_garbage_without_panicking() {
        let key = [1u8; 16];
        for len in 0..80 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            let _ = decrypt(&key, &data);
        }
        assert!(decrypt(&key, &[0u8; 17]).is_none());
    }

    #[test]
    fn session_keys_truncate_per_suite() {
        let k3 = SessionKeys::derive(Hash::Sha1, &[9u8; 20]);
        let k17 = SessionKeys::derive(Hash::Sha256, &[9u8; 32]);
        assert_eq!(k3.auth_code(b"x").len(), 12);
        assert_eq!(k17.auth_code(b"x").len(), 16);
        assert!(!format!("{k17:?}").contains("k1"));
    }
}
