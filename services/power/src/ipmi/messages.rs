//! IPMI messages (the payload of type 0x00) and the few commands a power driver
//! needs: chassis status and control, boot options, session privilege and close,
//! channel authentication capabilities.
//!
//! A message to the BMC is `rsAddr netFn/rsLUN chk1 rqAddr rqSeq/rqLUN cmd data
//! chk2` (IPMI 2.0 §13.8); the answer mirrors it with a completion code first in
//! the data. Decoding checks both checksums and every length.

use super::wire::WireError;
use crate::driver::{BootDevice, BootMode, BootSetting};

/// The BMC's responder address on IPMB.
const BMC_ADDR: u8 = 0x20;
/// Our requester address: a remote console software id.
const CONSOLE_ADDR: u8 = 0x81;

/// Network function codes (requests; responses are +1).
pub mod netfn {
    /// Chassis.
    pub const CHASSIS: u8 = 0x00;
    /// Application.
    pub const APP: u8 = 0x06;
}

/// Command codes.
pub mod cmd {
    /// Chassis: Get Chassis Status.
    pub const GET_CHASSIS_STATUS: u8 = 0x01;
    /// Chassis: Chassis Control.
    pub const CHASSIS_CONTROL: u8 = 0x02;
    /// Chassis: Set System Boot Options.
    pub const SET_BOOT_OPTIONS: u8 = 0x08;
    /// Chassis: Get System Boot Options.
    pub const GET_BOOT_OPTIONS: u8 = 0x09;
    /// App: Get Channel Authentication Capabilities.
    pub const GET_CHANNEL_AUTH_CAPS: u8 = 0x38;
    /// App: Set Session Privilege Level.
    pub const SET_SESSION_PRIVILEGE: u8 = 0x3B;
    /// App: Close Session.
    pub const CLOSE_SESSION: u8 = 0x3C;
}

/// Chassis Control operations (table 28-4).
pub mod control {
    /// Power down.
    pub const POWER_DOWN: u8 = 0x00;
    /// Power up.
    pub const POWER_UP: u8 = 0x01;
    /// Power cycle.
    pub const POWER_CYCLE: u8 = 0x02;
    /// Hard reset.
    pub const HARD_RESET: u8 = 0x03;
    /// Pulse diagnostic interrupt (NMI).
    pub const DIAGNOSTIC_INTERRUPT: u8 = 0x04;
    /// Soft shutdown via ACPI.
    pub const SOFT_SHUTDOWN: u8 = 0x05;
}

fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |acc, b| acc.wrapping_add(*b)).wrapping_neg()
}

/// Encodes a request with sequence `rq_seq` (6 bits).
pub fn encode_request(netfn: u8, cmd: u8, rq_seq: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![BMC_ADDR, netfn << 2];
    out.push(checksum(&out));
    let body_start = out.len();
    out.extend_from_slice(&[CONSOLE_ADDR, (rq_seq & 0x3F) << 2, cmd]);
    out.extend_from_slice(data);
    let chk = checksum(&out[body_start..]);
    out.push(chk);
    out
}

/// A decoded response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Response network function (request's + 1).
    pub netfn: u8,
    /// The command answered.
    pub cmd: u8,
    /// The request sequence it answers.
    pub rq_seq: u8,
    /// Completion code; 0 is success.
    pub completion: u8,
    /// The data after the completion code.
    pub data: Vec<u8>,
}

/// Decodes a response message, checking both checksums.
pub fn decode_response(bytes: &[u8]) -> Result<Response, WireError> {
    if bytes.len() < 8 {
        return Err(WireError::Truncated("ipmi message"));
    }
    if checksum(&bytes[..2]) != bytes[2] || checksum(&bytes[3..bytes.len() - 1]) != bytes[bytes.len() - 1] {
        return Err(WireError::BadChecksum);
    }
    Ok(Response {
        netfn: bytes[1] >> 2,
        cmd: bytes[5],
        rq_seq: bytes[4] >> 2,
        completion: bytes[6],
        data: bytes[7..bytes.len() - 1].to_vec(),
    })
}

/// What a completion code means, for error messages (table 5-2).
pub fn completion_text(code: u8) -> &'static str {
    match code {
        0x00 => "success",
        0xC0 => "node busy",
        0xC1 => "invalid command",
        0xC2 => "command invalid for LUN",
        0xC3 => "timeout processing command",
        0xC4 => "out of space",
        0xC5 => "reservation cancelled",
        0xC6 => "request data truncated",
        0xC7 => "request data length invalid",
        0xC8 => "request data field length limit exceeded",
        0xC9 => "parameter out of range",
        0xCA => "cannot return number of requested data bytes",
        0xCB => "requested sensor, data, or record not present",
        0xCC => "invalid data field in request",
        0xCD => "command illegal for specified sensor or record type",
        0xCE => "command response could not be provided",
        0xCF => "cannot execute duplicated request",
        0xD0 => "SDR repository in update mode",
        0xD1 => "device in firmware update mode",
        0xD2 => "BMC initialization in progress",
        0xD3 => "destination unavailable",
        0xD4 => "insufficient privilege level",
        0xD5 => "command not supported in present state",
        0xD6 => "command sub-function disabled or unavailable",
        _ => "unspecified error",
    }
}

/// Session privilege levels (table 22-15); Ironic's `ipmi_priv_level` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    /// CALLBACK.
    Callback = 1,
    /// USER.
    User = 2,
    /// OPERATOR.
    Operator = 3,
    /// ADMINISTRATOR (Ironic's default).
    Administrator = 4,
}

impl Privilege {
    /// Parses Ironic's spelling.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_uppercase().as_str() {
            "CALLBACK" => Some(Self::Callback),
            "USER" => Some(Self::User),
            "OPERATOR" => Some(Self::Operator),
            "ADMINISTRATOR" => Some(Self::Administrator),
            _ => None,
        }
    }
}

/// Get Channel Authentication Capabilities for the current channel, asking for
/// the IPMI 2.0 extended data.
pub fn channel_auth_caps_request(privilege: Privilege) -> Vec<u8> {
    vec![0x8E, privilege as u8]
}

/// Whether the capabilities answer says the channel speaks IPMI 2.0 (RMCP+).
pub fn supports_ipmi_v2(data: &[u8]) -> bool {
    // data[1] bit 7: extended capabilities present; data[3] bit 1: IPMI 2.0.
    matches!((data.get(1), data.get(3)), (Some(caps), Some(ext)) if caps & 0x80 != 0 && ext & 0x02 != 0)
}

/// Power is on per a Get Chassis Status answer; None when too short.
pub fn power_is_on(data: &[u8]) -> Option<bool> {
    data.first().map(|b| b & 0x01 != 0)
}

/// Boot parameter 5 (boot flags).
const BOOT_FLAGS: u8 = 0x05;

fn device_selector(device: BootDevice) -> Option<u8> {
    match device {
        BootDevice::Pxe => Some(0x1),
        BootDevice::Disk => Some(0x2),
        BootDevice::Safe => Some(0x3),
        BootDevice::Cdrom => Some(0x5),
        BootDevice::Bios => Some(0x6),
        BootDevice::Floppy => Some(0xF),
        BootDevice::UefiHttp => None,
    }
}

/// Set System Boot Options, boot flags: valid, persistent or next boot only,
/// EFI or legacy, and the device; None for a device IPMI has no selector for.
pub fn set_boot_flags_request(
    device: BootDevice,
    persistent: bool,
    mode: Option<BootMode>,
) -> Option<Vec<u8>> {
    let selector = device_selector(device)?;
    let mut flags = 0x80;
    if persistent {
        flags |= 0x40;
    }
    if mode == Some(BootMode::Uefi) {
        flags |= 0x20;
    }
    Some(vec![BOOT_FLAGS, flags, selector << 2, 0x00, 0x00, 0x00])
}

/// Get System Boot Options for the boot flags.
pub fn get_boot_flags_request() -> Vec<u8> {
    vec![BOOT_FLAGS, 0x00, 0x00]
}

/// Reads the boot flags answer: version, parameter, then five data bytes. The
/// device is read even when the valid bit is clear, as Ironic does (some BMCs,
/// ipmi_sim among them, never set it).
pub fn parse_boot_flags(data: &[u8]) -> Option<BootSetting> {
    let flags = data.get(2..7)?;
    let device = match (flags[1] >> 2) & 0x0F {
        0x1 => Some(BootDevice::Pxe),
        0x2 => Some(BootDevice::Disk),
        0x3 => Some(BootDevice::Safe),
        0x5 => Some(BootDevice::Cdrom),
        0x6 => Some(BootDevice::Bios),
        0xF => Some(BootDevice::Floppy),
        _ => None,
    };
    let mode = if flags[0] & 0x20 != 0 { BootMode::Uefi } else { BootMode::Bios };
    Some(BootSetting { device, persistent: Some(flags[0] & 0x40 != 0), mode: Some(mode) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(netfn: u8, seq: u8, cmd: u8, completion: u8, data: &[u8]) -> Vec<u8> {
        let mut out = vec![CONSOLE_ADDR, (netfn + 1) << 2];
        out.push(checksum(&out));
        let start = out.len();
        out.extend_from_slice(&[BMC_ADDR, seq << 2, cmd, completion]);
        out.extend_from_slice(data);
        let chk = checksum(&out[start..]);
        out.push(chk);
        out
    }

    #[test]
    fn request_layout_and_checksums() {
        // Get Chassis Status, as ipmitool sends it: 20 00 e0 81 04 01 7a.
        assert_eq!(
            encode_request(netfn::CHASSIS, cmd::GET_CHASSIS_STATUS, 1, &[]),
            vec![0x20, 0x00, 0xe0, 0x81, 0x04, 0x01, 0x7a]
        );
    }

    #[test]
    fn response_decodes_and_checks() {
        let bytes = response(netfn::CHASSIS, 5, cmd::GET_CHASSIS_STATUS, 0, &[0x01, 0x00, 0x00]);
        let r = decode_response(&bytes).unwrap();
        assert_eq!(
            (r.netfn, r.cmd, r.rq_seq, r.completion),
            (netfn::CHASSIS + 1, cmd::GET_CHASSIS_STATUS, 5, 0)
        );
        assert_eq!(power_is_on(&r.data), Some(true));
        let mut bad = bytes.clone();
        bad[7] ^= 1;
        assert_eq!(decode_response(&bad), Err(WireError::BadChecksum));
        for cut in 0..bytes.len() {
            let _ = decode_response(&bytes[..cut]);
        }
    }

    #[test]
    fn boot_flags_round_trip() {
        for device in
            [BootDevice::Pxe, BootDevice::Disk, BootDevice::Cdrom, BootDevice::Bios, BootDevice::Safe]
        {
            for persistent in [false, true] {
                for mode in [BootMode::Bios, BootMode::Uefi] {
                    let req = set_boot_flags_request(device, persistent, Some(mode)).unwrap();
                    // The answer carries version and parameter before the data.
                    let mut answer = vec![0x01, 0x05];
                    answer.extend_from_slice(&req[1..]);
                    let got = parse_boot_flags(&answer).unwrap();
                    assert_eq!(
                        got,
                        BootSetting { device: Some(device), persistent: Some(persistent), mode: Some(mode) }
                    );
                }
            }
        }
        assert!(set_boot_flags_request(BootDevice::UefiHttp, false, None).is_none());
        // ipmi_sim's answer after `bootdev pxe`: flags byte 0 (valid bit clear).
        assert_eq!(
            parse_boot_flags(&[0x01, 0x05, 0x00, 0x04, 0, 0, 0]).unwrap().device,
            Some(BootDevice::Pxe)
        );
        assert!(parse_boot_flags(&[0x01, 0x05, 0x00]).is_none());
    }

    #[test]
    fn privilege_names_as_ironic() {
        assert_eq!(Privilege::from_name("administrator"), Some(Privilege::Administrator));
        assert_eq!(Privilege::from_name("OPERATOR"), Some(Privilege::Operator));
        assert_eq!(Privilege::from_name("root"), None);
    }
}
