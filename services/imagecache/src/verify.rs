//! Proving an image is the one asked for: checksum algorithms, what the caller
//! expects (inline, or the URL of a checksum file as Ironic's `image_checksum`
//! allows), the incremental hasher fed while downloading, and the checksum-file
//! parser (`sha256sum` output, BSD tags, or a bare hash).
//!
//! sha256 is always computed, because it is the cache's content address; a
//! second digest is computed only when the caller's algorithm is another one.

use md5::Md5;
use sha2::{Digest, Sha256, Sha512};

use crate::error::ImageCacheError;

/// A checksum algorithm Ironic accepts for images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// Legacy `image_checksum`; still what Glance's `checksum` holds.
    Md5,
    /// The content address of the cache, and the common `os_hash_algo`.
    Sha256,
    /// Glance's default `os_hash_algo`.
    Sha512,
}

impl Algorithm {
    /// The lowercase name used in the API and in metadata.
    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// Length of the digest in hex characters.
    fn hex_len(self) -> usize {
        match self {
            Self::Md5 => 32,
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }

    /// Parses an algorithm name, case-insensitively.
    pub fn parse(name: &str) -> Result<Self, ImageCacheError> {
        match name.to_ascii_lowercase().as_str() {
            "md5" => Ok(Self::Md5),
            "sha256" => Ok(Self::Sha256),
            "sha512" => Ok(Self::Sha512),
            other => Err(ImageCacheError::InvalidChecksum(format!(
                "unknown checksum algorithm {other:?} (known: md5, sha256, sha512)"
            ))),
        }
    }

    /// The algorithm a hex digest of this length must come from, as Ironic guesses
    /// when only `image_checksum` is given.
    pub fn guess(hex: &str) -> Option<Self> {
        [Self::Md5, Self::Sha256, Self::Sha512].into_iter().find(|a| a.hex_len() == hex.len())
    }
}

/// An expected digest: the algorithm and the lowercase hex value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// Which digest.
    pub algorithm: Algorithm,
    /// Lowercase hex.
    pub hex: String,
}

impl Checksum {
    /// Validates `hex` against `algorithm` (guessed from the length when `None`).
    pub fn new(hex: &str, algorithm: Option<Algorithm>) -> Result<Self, ImageCacheError> {
        let hex = hex.trim().to_ascii_lowercase();
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ImageCacheError::InvalidChecksum(format!("{hex:?} is not a hex digest")));
        }
        let algorithm = match algorithm {
            Some(a) => a,
            None => Algorithm::guess(&hex).ok_or_else(|| {
                ImageCacheError::InvalidChecksum(format!(
                    "cannot tell the algorithm of a {}-character digest; name it",
                    hex.len()
                ))
            })?,
        };
        if hex.len() != algorithm.hex_len() {
            return Err(ImageCacheError::InvalidChecksum(format!(
                "a {} digest has {} hex characters, got {}",
                algorithm.name(),
                algorithm.hex_len(),
                hex.len()
            )));
        }
        Ok(Self { algorithm, hex })
    }
}

/// What the caller expects of the image, before any checksum file is fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChecksumSpec {
    /// No verification asked for.
    None,
    /// The digest itself.
    Inline(Checksum),
    /// The URL of a checksum file, and the algorithm if the caller named it.
    File {
        /// http(s):// or file:// URL of the checksum file.
        url: String,
        /// Named algorithm; guessed from the digest's length otherwise.
        algorithm: Option<Algorithm>,
    },
}

impl ChecksumSpec {
    /// Reads the request's `checksum` and `checksum_algorithm` fields.
    pub fn parse(checksum: &str, algorithm: &str) -> Result<Self, ImageCacheError> {
        let checksum = checksum.trim();
        let algorithm = match algorithm.trim() {
            "" => None,
            name => Some(Algorithm::parse(name)?),
        };
        if checksum.is_empty() {
            return Ok(Self::None);
        }
        let lower = checksum.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("file://") {
            return Ok(Self::File { url: checksum.to_owned(), algorithm });
        }
        Ok(Self::Inline(Checksum::new(checksum, algorithm)?))
    }

    /// A stable text for single-flight keys: two requests that expect different
    /// things must not share a download's verdict.
    pub fn key(&self) -> String {
        match self {
            Self::None => String::new(),
            Self::Inline(c) => format!("{}:{}", c.algorithm.name(), c.hex),
            Self::File { url, algorithm } => format!("file:{}:{url}", algorithm.map_or("", Algorithm::name)),
        }
    }
}

/// Finds this image's digest in a checksum file: a bare digest, `sha256sum`
/// lines (`<hex>  <name>` or `<hex> *<name>`), or BSD tags
/// (`SHA256 (<name>) = <hex>`). With several entries, the one naming
/// `file_name` (the last segment of the image URL) wins.
pub fn parse_checksum_file(
    text: &str,
    file_name: &str,
    algorithm: Option<Algorithm>,
) -> Result<Checksum, String> {
    let mut entries: Vec<(String, Option<String>)> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if let Some((tag_and_name, hex)) = line.split_once(") = ") {
            let name = tag_and_name.split_once(" (").map(|(_, n)| n.to_owned());
            entries.push((hex.trim().to_owned(), name));
        } else if let Some((hex, name)) = line.split_once(char::is_whitespace) {
            let name = name.trim_start().trim_start_matches('*');
            entries.push((hex.to_owned(), Some(name.to_owned())));
        } else {
            entries.push((line.to_owned(), None));
        }
    }
    let matches_name = |name: &Option<String>| {
        name.as_deref().is_some_and(|n| n == file_name || n.rsplit('/').next() == Some(file_name))
    };
    let chosen = match entries.as_slice() {
        [] => return Err("is empty".into()),
        [only] => only,
        many => many
            .iter()
            .find(|(_, name)| matches_name(name))
            .ok_or_else(|| format!("has {} entries and none for {file_name:?}", many.len()))?,
    };
    Checksum::new(&chosen.0, algorithm).map_err(|e| format!("holds an unusable digest: {e}"))
}

/// Hex digests of one stored file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Digests {
    /// Always present: the content address.
    pub sha256: String,
    /// The caller's algorithm when it is not sha256.
    pub other: Option<(Algorithm, String)>,
}

impl Digests {
    /// The digest for `algorithm`, when it was computed.
    pub fn get(&self, algorithm: Algorithm) -> Option<&str> {
        match (algorithm, &self.other) {
            (Algorithm::Sha256, _) => Some(&self.sha256),
            (a, Some((b, hex))) if a == *b => Some(hex),
            _ => None,
        }
    }
}

enum Extra {
    Md5(Md5),
    Sha512(Sha512),
}

/// Incremental hashing of a download: sha256 plus the caller's algorithm.
pub struct Hasher {
    sha256: Sha256,
    extra: Option<Extra>,
    extra_algorithm: Option<Algorithm>,
}

impl Hasher {
    /// A hasher computing sha256 and, if different, `algorithm`.
    pub fn new(algorithm: Option<Algorithm>) -> Self {
        let extra_algorithm = algorithm.filter(|a| *a != Algorithm::Sha256);
        let mut hasher = Self { sha256: Sha256::new(), extra: None, extra_algorithm };
        hasher.reset();
        hasher
    }

    /// Feeds bytes in file order.
    pub fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        match &mut self.extra {
            Some(Extra::Md5(h)) => h.update(data),
            Some(Extra::Sha512(h)) => h.update(data),
            None => {}
        }
    }

    /// Starts over, for when an origin ignores a Range request and resends all.
    pub fn reset(&mut self) {
        self.sha256 = Sha256::new();
        self.extra = match self.extra_algorithm {
            Some(Algorithm::Md5) => Some(Extra::Md5(Md5::new())),
            Some(Algorithm::Sha512) => Some(Extra::Sha512(Sha512::new())),
            _ => None,
        };
    }

    /// The digests of everything fed since the last reset.
    pub fn finish(self) -> Digests {
        let other = match (self.extra_algorithm, self.extra) {
            (Some(a), Some(Extra::Md5(h))) => Some((a, to_hex(&h.finalize()))),
            (Some(a), Some(Extra::Sha512(h))) => Some((a, to_hex(&h.finalize()))),
            _ => None,
        };
        Digests { sha256: to_hex(&self.sha256.finalize()), other }
    }
}

/// Lowercase hex of bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Checks `digests` against `expected`, naming both on mismatch.
pub fn check(expected: &Checksum, digests: &Digests, url: &str) -> Result<(), ImageCacheError> {
    let actual = digests.get(expected.algorithm).unwrap_or_default();
    if actual == expected.hex {
        return Ok(());
    }
    Err(ImageCacheError::ChecksumMismatch {
        url: url.to_owned(),
        algorithm: expected.algorithm.name(),
        expected: expected.hex.clone(),
        actual: actual.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const ABC_MD5: &str = "900150983cd24fb0d6963f7d28e17f72";

    #[test]
    fn hashes_known_vectors() {
        let mut h = Hasher::new(Some(Algorithm::Md5));
        h.update(b"a");
        h.update(b"bc");
        let d = h.finish();
        assert_eq!(d.sha256, ABC_SHA256);
        assert_eq!(d.get(Algorithm::Md5), Some(ABC_MD5));
        assert_eq!(d.get(Algorithm::Sha512), None);
    }

    #[test]
    fn reset_starts_over() {
        let mut h = Hasher::new(Some(Algorithm::Sha512));
        h.update(b"garbage");
        h.reset();
        h.update(b"abc");
        let d = h.finish();
        assert_eq!(d.sha256, ABC_SHA256);
        assert!(d.get(Algorithm::Sha512).is_some_and(|s| s.starts_with("ddaf35a1")));
    }

    #[test]
    fn spec_parsing() {
        let check = |checksum: &str, algo: &str, ok: bool| {
            assert_eq!(ChecksumSpec::parse(checksum, algo).is_ok(), ok, "{checksum:?} {algo:?}");
        };
        check("", "", true);
        check(ABC_MD5, "", true);
        check(&ABC_SHA256.to_uppercase(), "SHA256", true);
        check(ABC_MD5, "sha256", false);
        check("xyz", "", false);
        check("abcd", "", false);
        check(ABC_SHA256, "crc32", false);
        check("http://origin/SHA256SUMS", "", true);
        assert_eq!(
            ChecksumSpec::parse(ABC_MD5, "").ok(),
            Some(ChecksumSpec::Inline(Checksum { algorithm: Algorithm::Md5, hex: ABC_MD5.into() }))
        );
    }

    #[test]
    fn checksum_files() {
        let gnu = format!("{ABC_MD5}  other.img\n{ABC_SHA256} *disk.qcow2\n");
        assert_eq!(parse_checksum_file(&gnu, "disk.qcow2", None).map(|c| c.hex), Ok(ABC_SHA256.to_owned()));
        assert!(parse_checksum_file(&gnu, "missing.img", None).is_err());
        let bare = format!("{ABC_SHA256}\n");
        assert_eq!(parse_checksum_file(&bare, "anything", None).map(|c| c.algorithm), Ok(Algorithm::Sha256));
        let bsd = format!("# comment\nSHA256 (disk.img) = {ABC_SHA256}\nMD5 (x) = {ABC_MD5}\n");
        assert_eq!(parse_checksum_file(&bsd, "disk.img", None).map(|c| c.hex), Ok(ABC_SHA256.to_owned()));
        assert!(parse_checksum_file("", "x", None).is_err());
        assert!(parse_checksum_file("nothex  x\n", "x", None).is_err());
    }

    #[test]
    fn mismatch_names_both_digests() {
        let expected = Checksum::new(ABC_MD5, None).unwrap_or_else(|e| panic!("{e}"));
        let digests = Digests { sha256: ABC_SHA256.into(), other: Some((Algorithm::Md5, "00".repeat(16))) };
        let err = check(&expected, &digests, "http://o/i").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains(ABC_MD5) && err.contains(&"00".repeat(16)), "{err}");
    }
}
