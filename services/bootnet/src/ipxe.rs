//! Per-node iPXE scripts: what iPXE runs once it has chained in.
//!
//! Deploy, rescue and inspect load the node's kernel and ramdisk (the ramdisk
//! named `ramdisk` and passed as `initrd=ramdisk`, which UEFI kernels need) and
//! boot them with the node's kernel arguments and `BOOTIF=<mac>`, which tells
//! the agent which NIC it booted from, as Ironic's iPXE template does; local boot leaves iPXE for the next
//! boot device. Every script echoes a marker before each step so a serial console
//! shows how far a machine got. URLs and arguments are validated on registration
//! (one line, no whitespace in URLs), so nothing a caller sends can add commands.

use crate::registry::{BootNode, BootTarget};

/// The script for `node`.
pub fn script(node: &BootNode) -> String {
    match node.target {
        BootTarget::Local => local(&node.uuid),
        target => boot(&node.uuid, target.name(), &node.kernel_url, &node.ramdisk_url, &node.kernel_args),
    }
}

/// The script for a discovered (unregistered) machine.
pub fn discovery(mac: &str, kernel_url: &str, ramdisk_url: &str, kernel_args: &str) -> String {
    boot(&format!("unregistered {mac}"), "inspect", kernel_url, ramdisk_url, kernel_args)
}

fn boot(node: &str, mode: &str, kernel_url: &str, ramdisk_url: &str, kernel_args: &str) -> String {
    let args = if kernel_args.is_empty() { String::new() } else { format!(" {kernel_args}") };
    format!(
        "#!ipxe\n\
         echo FERRIC-IPXE-SCRIPT mode={mode} node={node}\n\
         kernel {kernel_url} initrd=ramdisk BOOTIF=${{netX/mac}}{args} || goto fail\n\
         initrd --name ramdisk {ramdisk_url} || goto fail\n\
         echo FERRIC-BOOTING-KERNEL\n\
         boot || goto fail\n\
         :fail\n\
         echo FERRIC-BOOT-FAILED\n\
         exit 1\n"
    )
}

fn local(node: &str) -> String {
    format!(
        "#!ipxe\n\
         echo FERRIC-IPXE-SCRIPT mode=local node={node}\n\
         iseq ${{platform}} efi && exit 0 ||\n\
         sanboot --no-describe --drive 0x80 || exit 0\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Firmware;

    fn node(target: BootTarget) -> BootNode {
        BootNode {
            uuid: "n1".into(),
            macs: vec!["52:54:00:00:00:01".into()],
            target,
            kernel_url: "http://10.0.0.1/k".into(),
            ramdisk_url: "tftp://10.0.0.1/r".into(),
            kernel_args: "ipa-api-url=http://10.0.0.1:6385 console=ttyS0".into(),
            firmware: Firmware::Any,
        }
    }

    #[test]
    fn scripts_boot_the_ramdisk_or_the_disk() {
        let deploy = script(&node(BootTarget::Deploy));
        assert!(deploy.starts_with("#!ipxe\n"));
        assert!(deploy.contains("kernel http://10.0.0.1/k initrd=ramdisk BOOTIF=${netX/mac} ipa-api-url=http://10.0.0.1:6385 console=ttyS0 || goto fail\n"));
        assert!(deploy.contains("initrd --name ramdisk tftp://10.0.0.1/r || goto fail\n"));
        assert!(deploy.contains("mode=deploy"));
        let local = script(&node(BootTarget::Local));
        assert!(local.contains("sanboot --no-describe --drive 0x80"));
        assert!(!local.contains("kernel "));
        assert!(script(&node(BootTarget::Rescue)).contains("mode=rescue"));
    }
}
