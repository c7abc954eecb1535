//! RMCP+ session establishment messages (IPMI 2.0 §13.17–13.31): Open Session
//! Request/Response and RAKP messages 1–4, with the key-exchange codes they carry.
//!
//! Encoders build what we send; parsers read what the BMC sends, checking every
//! length; [`Handshake`] holds the values both sides mix into the HMACs, so the
//! formulas appear once, next to the spec's names for their inputs.

use super::crypto::{CipherSuite, Hash, constant_time_eq};
use super::wire::WireError;

/// An RMCP+ status code from Open Session / RAKP 2 / RAKP 4, with its meaning.
pub fn status_text(code: u8) -> &'static str {
    match code {
        0x00 => "no errors",
        0x01 => "insufficient resources to create a session",
        0x02 => "invalid session id",
        0x03 => "invalid payload type",
        0x04 => "invalid authentication algorithm",
        0x05 => "invalid integrity algorithm",
        0x06 => "no matching authentication payload",
        0x07 => "no matching integrity payload",
        0x08 => "inactive session id",
        0x09 => "invalid role",
        0x0A => "unauthorized role or privilege level requested",
        0x0B => "insufficient resources to create a session at the requested role",
        0x0C => "invalid name length",
        0x0D => "unauthorized name",
        0x0E => "unauthorized GUID",
        0x0F => "invalid integrity check value",
        0x10 => "invalid confidentiality algorithm",
        0x11 => "no cipher suite match with proposed security algorithms",
        0x12 => "illegal or unrecognized parameter",
        _ => "unknown status",
    }
}

/// Status codes that mean "these credentials are not accepted" rather than a
/// protocol or resource problem.
pub fn status_is_credentials(code: u8) -> bool {
    matches!(code, 0x09 | 0x0A | 0x0D | 0x0F)
}

/// Status codes that mean "the BMC does not offer this cipher suite".
pub fn status_is_suite(code: u8) -> bool {
    matches!(code, 0x04 | 0x05 | 0x06 | 0x07 | 0x10 | 0x11)
}

/// Open Session Request proposing exactly `suite`'s algorithms.
pub fn open_session_request(tag: u8, privilege: u8, console_session_id: u32, suite: CipherSuite) -> Vec<u8> {
    let mut out = vec![tag, privilege, 0, 0];
    out.extend_from_slice(&console_session_id.to_le_bytes());
    for (payload_type, algorithm) in [
        (0x00, suite.auth_algorithm()),
        (0x01, suite.integrity_algorithm()),
        (0x02, suite.confidentiality_algorithm()),
    ] {
        out.extend_from_slice(&[payload_type, 0, 0, 0x08, algorithm, 0, 0, 0]);
    }
    out
}

/// The parts of an Open Session Response we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSessionResponse {
    /// Echo of our tag.
    pub tag: u8,
    /// RMCP+ status; 0 is success (then the rest is meaningful).
    pub status: u8,
    /// Echo of our session id.
    pub console_session_id: u32,
    /// The BMC's id for the session: what we put in every later header.
    pub bmc_session_id: u32,
    /// Algorithms the BMC chose (auth, integrity, confidentiality).
    pub algorithms: [u8; 3],
}

/// Parses an Open Session Response; an error status may come with a short body.
pub fn parse_open_session_response(p: &[u8]) -> Result<OpenSessionResponse, WireError> {
    let head = p.get(..2).ok_or(WireError::Truncated("open session response"))?;
    let (tag, status) = (head[0], head[1]);
    if status != 0 {
        let console_session_id = p.get(4..8).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        return Ok(OpenSessionResponse {
            tag,
            status,
            console_session_id,
            bmc_session_id: 0,
            algorithms: [0; 3],
        });
    }
    let body = p.get(..36).ok_or(WireError::Truncated("open session response"))?;
    Ok(OpenSessionResponse {
        tag,
        status,
        console_session_id: u32::from_le_bytes([body[4], body[5], body[6], body[7]]),
        bmc_session_id: u32::from_le_bytes([body[8], body[9], body[10], body[11]]),
        algorithms: [body[16] & 0x3F, body[24] & 0x3F, body[32] & 0x3F],
    })
}

/// Everything both sides feed into the RAKP HMACs.
#[derive(Clone)]
pub struct Handshake {
    /// The suite's hash.
    pub hash: Hash,
    /// SIDm: our (remote console) session id.
    pub console_session_id: u32,
    /// SIDc: the BMC's (managed system) session id.
    pub bmc_session_id: u32,
    /// Rm: our random number.
    pub console_random: [u8; 16],
    /// Rc: the BMC's random number (from RAKP 2).
    pub bmc_random: [u8; 16],
    /// GUIDc: the BMC's GUID (from RAKP 2).
    pub bmc_guid: [u8; 16],
    /// ROLEm: the whole requested-privilege byte of RAKP 1.
    pub role: u8,
    /// UNAMEm.
    pub username: Vec<u8>,
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshake")
            .field("hash", &self.hash)
            .field("console_session_id", &self.console_session_id)
            .field("bmc_session_id", &self.bmc_session_id)
            .finish_non_exhaustive()
    }
}

impl Handshake {
    /// RAKP Message 1: our random number, role and username.
    pub fn rakp1(&self, tag: u8) -> Vec<u8> {
        let mut out = vec![tag, 0, 0, 0];
        out.extend_from_slice(&self.bmc_session_id.to_le_bytes());
        out.extend_from_slice(&self.console_random);
        out.extend_from_slice(&[self.role, 0, 0, self.username.len() as u8]);
        out.extend_from_slice(&self.username);
        out
    }

    /// The RAKP 2 key-exchange code the BMC must send if it knows the password:
    /// HMAC_Kuid(SIDm, SIDc, Rm, Rc, GUIDc, ROLEm, ULENGTHm, UNAMEm).
    pub fn rakp2_code(&self, password: &[u8]) -> Vec<u8> {
        self.hash.hmac(
            password,
            &[
                &self.console_session_id.to_le_bytes(),
                &self.bmc_session_id.to_le_bytes(),
                &self.console_random,
                &self.bmc_random,
                &self.bmc_guid,
                &[self.role, self.username.len() as u8],
                &self.username,
            ],
        )
    }

    /// The RAKP 3 code proving we know the password:
    /// HMAC_Kuid(Rc, SIDm, ROLEm, ULENGTHm, UNAMEm).
    pub fn rakp3_code(&self, password: &[u8]) -> Vec<u8> {
        self.hash.hmac(
            password,
            &[
                &self.bmc_random,
                &self.console_session_id.to_le_bytes(),
                &[self.role, self.username.len() as u8],
                &self.username,
            ],
        )
    }

    /// SIK = HMAC_KG(Rm, Rc, ROLEm, ULENGTHm, UNAMEm); KG is the password when no
    /// BMC key is set.
    pub fn sik(&self, kg: &[u8]) -> Vec<u8> {
        self.hash.hmac(
            kg,
            &[
                &self.console_random,
                &self.bmc_random,
                &[self.role, self.username.len() as u8],
                &self.username,
            ],
        )
    }

    /// The RAKP 4 integrity check value: HMAC_SIK(Rm, SIDc, GUIDc), truncated.
    pub fn rakp4_icv(&self, sik: &[u8]) -> Vec<u8> {
        let mut icv =
            self.hash.hmac(sik, &[&self.console_random, &self.bmc_session_id.to_le_bytes(), &self.bmc_guid]);
        icv.truncate(self.hash.icv_len());
        icv
    }

    /// RAKP Message 3 with status 0 and our code, or a non-zero status (no code)
    /// to tell the BMC we abandon the handshake.
    pub fn rakp3(&self, tag: u8, status: u8, code: &[u8]) -> Vec<u8> {
        let mut out = vec![tag, status, 0, 0];
        out.extend_from_slice(&self.bmc_session_id.to_le_bytes());
        if status == 0 {
            out.extend_from_slice(code);
        }
        out
    }
}

/// The parts of RAKP Message 2 we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rakp2 {
    /// Echo of our tag.
    pub tag: u8,
    /// RMCP+ status.
    pub status: u8,
    /// Echo of SIDm.
    pub console_session_id: u32,
    /// Rc.
    pub bmc_random: [u8; 16],
    /// GUIDc.
    pub bmc_guid: [u8; 16],
    /// The key exchange authentication code.
    pub code: Vec<u8>,
}

/// Parses RAKP Message 2.
pub fn parse_rakp2(p: &[u8]) -> Result<Rakp2, WireError> {
    let head = p.get(..2).ok_or(WireError::Truncated("rakp 2"))?;
    let (tag, status) = (head[0], head[1]);
    if status != 0 {
        return Ok(Rakp2 {
            tag,
            status,
            console_session_id: 0,
            bmc_random: [0; 16],
            bmc_guid: [0; 16],
            code: Vec::new(),
        });
    }
    let body = p.get(..40).ok_or(WireError::Truncated("rakp 2"))?;
    let mut bmc_random = [0u8; 16];
    bmc_random.copy_from_slice(&body[8..24]);
    let mut bmc_guid = [0u8; 16];
    bmc_guid.copy_from_slice(&body[24..40]);
    Ok(Rakp2 {
        tag,
        status,
        console_session_id: u32::from_le_bytes([body[4], body[5], body[6], body[7]]),
        bmc_random,
        bmc_guid,
        code: p[40..].to_vec(),
    })
}

/// The parts of RAKP Message 4 we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rakp4 {
    /// Echo of our tag.
    pub tag: u8,
    /// RMCP+ status.
    pub status: u8,
    /// Echo of SIDm.
    pub console_session_id: u32,
    /// Integrity check value.
    pub icv: Vec<u8>,
}

/// Parses RAKP Message 4.
pub fn parse_rakp4(p: &[u8]) -> Result<Rakp4, WireError> {
    let head = p.get(..2).ok_or(WireError::Truncated("rakp 4"))?;
    let (tag, status) = (head[0], head[1]);
    if status != 0 {
        return Ok(Rakp4 { tag, status, console_session_id: 0, icv: Vec::new() });
    }
    let body = p.get(..8).ok_or(WireError::Truncated("rakp 4"))?;
    Ok(Rakp4 {
        tag,
        status,
        console_session_id: u32::from_le_bytes([body[4], body[5], body[6], body[7]]),
        icv: p[8..].to_vec(),
    })
}

/// Checks a received code against the expected one in constant time.
pub fn codes_match(expected: &[u8], received: &[u8]) -> bool {
    constant_time_eq(expected, received)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(hash: Hash) -> Handshake {
        Handshake {
            hash,
            console_session_id: 0xa0a2a3a4,
            bmc_session_id: 0x02000300,
            console_random: [0x11; 16],
            bmc_random: [0x22; 16],
            bmc_guid: [0x33; 16],
            role: 0x14,
            username: b"admin".to_vec(),
        }
    }

    #[test]
    fn open_session_request_proposes_the_suite() {
        let r = open_session_request(7, 4, 0xa0a2a3a4, CipherSuite::Seventeen);
        assert_eq!(r.len(), 32);
        assert_eq!((r[12], r[20], r[28]), (0x03, 0x04, 0x01));
        let r = open_session_request(7, 4, 1, CipherSuite::Three);
        assert_eq!((r[12], r[20], r[28]), (0x01, 0x01, 0x01));
    }

    #[test]
    fn code_lengths_follow_the_hash() {
        for (hash, full, icv) in [(Hash::Sha1, 20, 12), (Hash::Sha256, 32, 16)] {
            let h = handshake(hash);
            assert_eq!(h.rakp2_code(b"password").len(), full);
            assert_eq!(h.rakp3_code(b"password").len(), full);
            let sik = h.sik(b"password");
            assert_eq!(sik.len(), full);
            assert_eq!(h.rakp4_icv(&sik).len(), icv);
            assert_ne!(h.rakp2_code(b"password"), h.rakp2_code(b"Password"));
        }
    }

    /// The suite-3 formulas checked against ipmi-rs's independent SHA-1 code path
    /// (its `validate_hmac_sha1`): the same concatenation order, written out by hand.
    #[test]
    fn rakp2_concatenation_order() {
        let h = handshake(Hash::Sha1);
        let mut manual = Vec::new();
        manual.extend_from_slice(&0xa0a2a3a4u32.to_le_bytes());
        manual.extend_from_slice(&0x02000300u32.to_le_bytes());
        manual.extend_from_slice(&[0x11; 16]);
        manual.extend_from_slice(&[0x22; 16]);
        manual.extend_from_slice(&[0x33; 16]);
        manual.extend_from_slice(&[0x14, 5]);
        manual.extend_from_slice(b"admin");
        assert_eq!(h.rakp2_code(b"pw"), Hash::Sha1.hmac(b"pw", &[&manual]));
    }

    #[test]
    fn parsers_survive_every_truncation() {
        let mut rakp2 = vec![1, 0, 0, 0, 4, 3, 2, 1];
        rakp2.extend_from_slice(&[9; 32]);
        rakp2.extend_from_slice(&[7; 20]);
        let parsed = parse_rakp2(&rakp2).unwrap();
        assert_eq!((parsed.console_session_id, parsed.code.len()), (0x01020304, 20));
        for cut in 0..rakp2.len() {
            let _ = parse_rakp2(&rakp2[..cut]);
            let _ = parse_rakp4(&rakp2[..cut]);
            let _ = parse_open_session_response(&rakp2[..cut]);
        }
        assert_eq!(parse_open_session_response(&[5, 0x11]).unwrap().status, 0x11);
    }
}
