//! Ring positions from MD5, as Ironic's hash ring (via tooz) computes them, so a
//! Ferric ring places nodes exactly where Ironic's would. The digest itself comes
//! from RustCrypto's `md-5`; MD5 is used for placement, never for security.

use ::md5::Digest;
pub(crate) use ::md5::Md5;

/// The digest so far read as a big-endian integer, as Python's
/// `int(md5(data).hexdigest(), 16)` does: the ring position of the data hashed.
pub(crate) fn position(md5: Md5) -> u128 {
    u128::from_be_bytes(md5.finalize().into())
}

/// The ring position of a whole message.
pub(crate) fn position_of(data: &[u8]) -> u128 {
    position(Md5::new_with_prefix(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_the_big_endian_digest() {
        // RFC 1321: MD5("abc") = 900150983cd24fb0d6963f7d28e17f72.
        assert_eq!(position_of(b"abc"), 0x900150983cd24fb0d6963f7d28e17f72);
        let mut incremental = Md5::new();
        incremental.update(b"ab");
        incremental.update(b"c");
        assert_eq!(position(incremental), position_of(b"abc"));
    }
}
