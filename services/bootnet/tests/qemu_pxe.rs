//! A virtual machine PXE-boots from Ferric's bootnet: qemu (TCG) with its iPXE
//! NIC ROM on a tap in the server's namespace gets its address and its per-node
//! script from our DHCP and HTTP, then loads a kernel and an initrd — over HTTP,
//! and after ReplaceNode over TFTP. The kernel is Debian's `ipxe.lkrn` (a real
//! bzImage, 400 KB), so the boot is quick; the initrd is random bytes, checked
//! by size on the server.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::lab::{Child, Lab, SERVER_IP, config, noise};
use ferric_proto::v1::{NetbootConfig, NetbootMode, NodeRef, ReplaceNodeRequest};

const MAC: &str = "52:54:00:00:00:10";
const NODE: &str = "0b6f4c52-7d0e-4d7b-8f55-2d1f6d1e9a10";

fn boot(lab: &Lab, serial: &std::path::Path) -> Child {
    Child(
        lab.server
            .command("qemu-system-x86_64")
            .args(["-accel", "tcg", "-m", "256", "-smp", "1", "-nodefaults", "-nographic", "-no-reboot"])
            .args(["-monitor", "none", "-boot", "n"])
            .arg("-serial")
            .arg(format!("file:{}", serial.display()))
            .args(["-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no"])
            .args(["-device", &format!("virtio-net-pci,netdev=n0,mac={MAC}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("qemu starts"),
    )
}

fn fetched(lab: &Lab, protocol: &str, path: &str, bytes: u64) -> bool {
    lab.bootnet
        .as_ref()
        .unwrap()
        .served()
        .snapshot()
        .iter()
        .any(|s| s.protocol == protocol && s.path == path && s.bytes == bytes)
}

#[test]
fn a_pxe_vm_loads_kernel_and_initrd_over_http_then_tftp() {
    let kernel =
        std::fs::read("/usr/lib/ipxe/ipxe.lkrn").expect("Debian's ipxe package (scripts/install-deps.sh)");
    let initrd = noise(512 * 1024 + 7, 9);
    let files: [(&str, &[u8]); 2] = [("vmlinuz", &kernel), ("initrd.img", &initrd)];
    let mut lab = Lab::new("vm", config(), &files);
    lab.server.tap("tap0", "br0").unwrap();
    lab.register(
        NODE,
        MAC,
        &format!("http://{SERVER_IP}:8080/files/vmlinuz"),
        &format!("http://{SERVER_IP}:8080/files/initrd.img"),
    );
    let (kernel_len, initrd_len) = (kernel.len() as u64, initrd.len() as u64);

    let started = Instant::now();
    let serial = lab.path("vm-http.serial");
    let vm = boot(&lab, &serial);
    lab.wait_until(Duration::from_secs(40), "kernel and initrd over HTTP", |lab| {
        fetched(lab, "http", "vmlinuz", kernel_len) && fetched(lab, "http", "initrd.img", initrd_len)
    });
    lab.wait_until(Duration::from_secs(10), "iPXE to boot the kernel", |_| {
        std::fs::read_to_string(&serial).unwrap_or_default().contains("FERRIC-BOOTING-KERNEL")
    });
    let http_boot = started.elapsed();
    drop(vm);
    let text = std::fs::read_to_string(&serial).unwrap_or_default();
    assert!(text.contains("FERRIC-IPXE-SCRIPT mode=deploy"), "{text}");
    let leases = lab.leases();
    assert!(
        leases.iter().any(|l| l.mac == MAC && l.node.as_ref().is_some_and(|n| n.uuid == NODE)),
        "{leases:?}"
    );

    // Same node, now over TFTP: replaced in one step.
    let replace = ReplaceNodeRequest {
        node: Some(NodeRef::new(NODE)),
        config: Some(NetbootConfig {
            macs: vec![MAC.into()],
            mode: NetbootMode::Deploy as i32,
            kernel_url: format!("tftp://{SERVER_IP}/vmlinuz"),
            ramdisk_url: format!("tftp://{SERVER_IP}/initrd.img"),
            kernel_args: "console=ttyS0".into(),
            boot_mode: 0,
        }),
    };
    let mut grpc = lab.grpc.clone();
    lab.runtime.block_on(async move { grpc.replace_node(replace).await }).expect("ReplaceNode");
    let started = Instant::now();
    let serial = lab.path("vm-tftp.serial");
    let _vm = boot(&lab, &serial);
    lab.wait_until(Duration::from_secs(40), "kernel and initrd over TFTP", |lab| {
        fetched(lab, "tftp", "vmlinuz", kernel_len) && fetched(lab, "tftp", "initrd.img", initrd_len)
    });
    lab.wait_until(Duration::from_secs(10), "iPXE to boot the kernel", |_| {
        std::fs::read_to_string(&serial).unwrap_or_default().contains("FERRIC-BOOTING-KERNEL")
    });
    eprintln!("PXE to kernel: HTTP {http_boot:?}, TFTP {:?}", started.elapsed());
}
