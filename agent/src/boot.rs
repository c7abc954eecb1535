//! What the binary does before the agent runs in a ramdisk: read the kernel
//! command line, mount /proc, /sys and /dev when it is PID 1, and bring the boot
//! NIC up with an address from busybox `udhcpc`.

use std::path::Path;
use std::time::Duration;

/// The default udhcpc script of the ramdisk.
const UDHCPC_SCRIPT: &str = "/usr/share/udhcpc/default.script";

/// The parameters the agent reads from the kernel command line.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct KernelCmdline {
    /// `ipa-api-url=`.
    pub api_url: Option<String>,
    /// `BOOTIF=01-aa-bb-cc-dd-ee-ff` (pxelinux) or a plain MAC, normalised.
    pub boot_mac: Option<String>,
    /// `ipa-advertise-host=`.
    pub advertise_host: Option<String>,
    /// `ipa-debug` (or `ipa-debug=1`).
    pub debug: bool,
    /// `ipa-inspection-callback-url=`.
    pub inspection_callback_url: Option<String>,
    /// `ferric.disk_min_gib=`.
    pub disk_min_gib: Option<u64>,
    /// `ferric.udhcpc_script=`.
    pub udhcpc_script: Option<std::path::PathBuf>,
}

impl KernelCmdline {
    /// Parses `/proc/cmdline`'s text.
    pub fn parse(text: &str) -> Self {
        let mut found = Self::default();
        for word in text.split_whitespace() {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            let value = value.trim_matches('"');
            match key {
                "ipa-api-url" => found.api_url = Some(value.to_owned()),
                "BOOTIF" => found.boot_mac = boot_mac(value),
                "ipa-inspection-callback-url" => found.inspection_callback_url = Some(value.to_owned()),
                "ipa-advertise-host" => found.advertise_host = Some(value.to_owned()),
                "ipa-debug" => found.debug = !matches!(value, "0" | "false"),
                "ferric.disk_min_gib" => found.disk_min_gib = value.parse().ok(),
                "ferric.udhcpc_script" => found.udhcpc_script = Some(value.into()),
                _ => {}
            }
        }
        found
    }
}

/// `01-aa-bb-cc-dd-ee-ff` (ARP type 1 prefix) or `aa:bb:...` → `aa:bb:cc:dd:ee:ff`.
fn boot_mac(value: &str) -> Option<String> {
    let parts: Vec<&str> = value.split(['-', ':']).collect();
    let octets = match parts.len() {
        7 => &parts[1..],
        6 => &parts[..],
        _ => return None,
    };
    octets
        .iter()
        .all(|o| o.len() == 2 && o.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| octets.join(":").to_ascii_lowercase())
}

/// As PID 1 nothing is mounted yet; mount what the agent reads.
pub fn mount_pseudo_filesystems() {
    use nix::mount::{MsFlags, mount};
    for (source, target, kind) in
        [("proc", "/proc", "proc"), ("sysfs", "/sys", "sysfs"), ("devtmpfs", "/dev", "devtmpfs")]
    {
        let _ = std::fs::create_dir_all(target);
        let marker = match target {
            "/proc" => "/proc/self",
            "/sys" => "/sys/class",
            _ => "/dev/null",
        };
        if Path::new(marker).exists() {
            continue;
        }
        if let Err(error) = mount(Some(source), target, Some(kind), MsFlags::empty(), None::<&str>) {
            eprintln!("ferric-agent: cannot mount {target}: {error}");
        }
    }
}

/// The NIC to configure: the one with `boot_mac`, else the first non-loopback
/// with carrier (after bringing them all up).
fn pick_interface(boot_mac: Option<&str>) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lo")
        .collect();
    names.sort();
    let read = |name: &str, file: &str| {
        std::fs::read_to_string(format!("/sys/class/net/{name}/{file}"))
            .map(|s| s.trim().to_ascii_lowercase())
    };
    if let Some(mac) = boot_mac {
        return names.into_iter().find(|n| read(n, "address").is_ok_and(|a| a == mac));
    }
    names.into_iter().find(|n| read(n, "carrier").is_ok_and(|c| c == "1"))
}

async fn run(program: &str, args: &[&str]) -> bool {
    match tokio::process::Command::new(program).args(args).status().await {
        Ok(status) => status.success(),
        Err(error) => {
            tracing::warn!(%program, %error, "cannot run");
            false
        }
    }
}

/// Brings the boot NIC up and asks DHCP for an address, retrying until it works
/// (a ramdisk without network cannot do anything else).
pub async fn configure_network(boot_mac: Option<&str>, script: Option<&Path>) {
    let script = script.map_or_else(|| UDHCPC_SCRIPT.to_owned(), |s| s.to_string_lossy().into_owned());
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        if let Ok(entries) = std::fs::read_dir("/sys/class/net") {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name != "lo" && !run("ip", &["link", "set", "dev", &name, "up"]).await {
                    run("ifconfig", &[&name, "up"]).await;
                }
            }
        }
        run("ip", &["link", "set", "dev", "lo", "up"]).await;
        // Carrier takes a moment to come up after the link is set up.
        tokio::time::sleep(Duration::from_secs(2)).await;
        match pick_interface(boot_mac) {
            Some(interface) => {
                tracing::info!(%interface, "asking DHCP for an address");
                if run("udhcpc", &["-i", &interface, "-f", "-q", "-n", "-t", "10", "-T", "1", "-s", &script])
                    .await
                {
                    tracing::info!(%interface, "network configured");
                    return;
                }
                tracing::warn!(%interface, attempt, "DHCP failed; retrying");
            }
            None => tracing::warn!(?boot_mac, attempt, "no network interface to configure yet; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_parameters_are_read_as_ipa_reads_them() {
        let found = KernelCmdline::parse(
            "console=ttyS0 ipa-api-url=http://10.0.2.2:6385 BOOTIF=01-52-54-00-AB-CD-EF ipa-debug \
             ipa-advertise-host=10.0.2.15 ferric.disk_min_gib=0 \
             ipa-inspection-callback-url=http://10.0.2.2:6385/v1/continue_inspection ferric.udhcpc_script=/etc/udhcpc.sh",
        );
        assert_eq!(found.api_url.as_deref(), Some("http://10.0.2.2:6385"));
        assert_eq!(found.boot_mac.as_deref(), Some("52:54:00:ab:cd:ef"));
        assert_eq!(found.advertise_host.as_deref(), Some("10.0.2.15"));
        assert_eq!(
            found.inspection_callback_url.as_deref(),
            Some("http://10.0.2.2:6385/v1/continue_inspection")
        );
        assert!(found.debug);
        assert_eq!(found.disk_min_gib, Some(0));
        assert_eq!(found.udhcpc_script, Some("/etc/udhcpc.sh".into()));
        assert_eq!(
            KernelCmdline::parse("BOOTIF=52:54:00:AB:CD:EF").boot_mac.as_deref(),
            Some("52:54:00:ab:cd:ef")
        );
        assert_eq!(KernelCmdline::parse("BOOTIF=nonsense").boot_mac, None);
        assert_eq!(KernelCmdline::parse(""), KernelCmdline::default());
    }
}
