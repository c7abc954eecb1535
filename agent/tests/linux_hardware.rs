//! LinuxHardware's inventory from /proc and /sys: captured /proc text (a 2-CPU
//! Xeon VM) and a /sys tree shaped as the kernel lays it out, then this very
//! machine, whose values must be sane.

use std::os::unix::fs::symlink;
use std::path::Path;

use ferric_agent::{Hardware, LinuxHardware};

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A machine with a SCSI disk (one partition), a virtio disk, an empty and a loop
/// device, two NICs and loopback, UEFI, 24 GiB of memory blocks.
fn captured_machine() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(root, "proc/cpuinfo", include_str!("fixtures/cpuinfo-xeon-2cpu.txt"));
    write(root, "proc/meminfo", include_str!("fixtures/meminfo.txt"));
    write(root, "proc/sys/kernel/hostname", "ramdisk\n");
    let scsi = "sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0";
    write(root, &format!("{scsi}/model"), "SAMSUNG MZ7LH480\n");
    write(root, &format!("{scsi}/vendor"), "ATA     \n");
    write(root, &format!("{scsi}/wwid"), "naa.5002538e40a1b2c3\n");
    write(root, "sys/block/sda/size", "937703088\n");
    write(root, "sys/block/sda/queue/rotational", "0\n");
    write(root, "sys/block/sda/sda1/start", "2048\n");
    symlink(root.join(scsi), root.join("sys/block/sda/device")).expect("link");
    write(root, "sys/devices/virtio1/model", "");
    write(root, "sys/block/vda/size", "131072\n");
    write(root, "sys/block/vda/queue/rotational", "1\n");
    write(root, "sys/block/vda/serial", "ferric-e2e\n");
    symlink(root.join("sys/devices/virtio1"), root.join("sys/block/vda/device")).expect("link");
    write(root, "sys/block/vdb/size", "0\n");
    write(root, "sys/block/loop0/size", "2048\n");
    std::fs::create_dir_all(root.join("dev/disk/by-path")).expect("by-path");
    symlink("../../sda", root.join("dev/disk/by-path/pci-0000:00:1f.2-ata-1")).expect("link");
    for (name, mac, carrier, kind) in [
        ("eth0", "52:54:00:AB:CD:EF", "1", "1"),
        ("eth1", "52:54:00:ab:cd:f0", "0", "1"),
        ("lo", "00:00:00:00:00:00", "1", "772"),
    ] {
        write(root, &format!("sys/class/net/{name}/address"), &format!("{mac}\n"));
        write(root, &format!("sys/class/net/{name}/carrier"), &format!("{carrier}\n"));
        write(root, &format!("sys/class/net/{name}/type"), &format!("{kind}\n"));
    }
    write(root, "sys/class/net/eth0/speed", "1000\n");
    write(root, "sys/class/net/eth1/speed", "-1\n");
    write(root, "sys/class/dmi/id/product_name", "PowerEdge R650\n");
    write(root, "sys/class/dmi/id/product_serial", "ABC1234\n");
    write(root, "sys/class/dmi/id/sys_vendor", "Dell Inc.\n");
    std::fs::create_dir_all(root.join("sys/firmware/efi")).expect("efi");
    write(root, "sys/devices/system/memory/block_size_bytes", "8000000\n");
    for block in 0..192 {
        write(root, &format!("sys/devices/system/memory/memory{block}/online"), "1\n");
    }
    write(root, "sys/devices/system/memory/memory192/online", "0\n");
    dir
}

#[test]
fn the_inventory_of_a_captured_machine_has_ironics_shape_and_values() {
    let dir = captured_machine();
    let hardware = LinuxHardware::with_root(dir.path()).with_boot_mac(Some("52:54:00:AB:CD:EF".into()));
    let inventory = hardware.inventory().expect("inventory");
    assert_eq!(inventory.cpu.model_name, "Intel(R) Xeon(R) Processor");
    assert_eq!(inventory.cpu.count, 2);
    assert_eq!(inventory.cpu.frequency, "2600.000");
    assert!(inventory.cpu.flags.iter().any(|f| f == "avx2"));
    assert_eq!(inventory.memory.total, 24_683_652 * 1024);
    assert_eq!(inventory.memory.physical_mb, 192 * 128, "192 online blocks of 128 MiB");
    let names: Vec<&str> = inventory.disks.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["/dev/sda", "/dev/vda"], "no loop or empty devices");
    let sda = &inventory.disks[0];
    assert_eq!(sda.size, 937_703_088 * 512);
    assert_eq!(sda.model, "SAMSUNG MZ7LH480");
    assert_eq!(sda.vendor.as_deref(), Some("ATA"));
    assert_eq!(sda.wwn.as_deref(), Some("0x5002538e40a1b2c3"));
    assert_eq!(sda.hctl.as_deref(), Some("0:0:0:0"));
    assert_eq!(sda.by_path.as_deref(), Some("/dev/disk/by-path/pci-0000:00:1f.2-ata-1"));
    assert!(!sda.rotational);
    assert_eq!(hardware.partition_offsets(sda), [2048 * 512]);
    let vda = &inventory.disks[1];
    assert_eq!(
        (vda.size, vda.rotational, vda.serial.as_deref(), vda.hctl.as_deref()),
        (64 << 20, true, Some("ferric-e2e"), None)
    );
    let nics: Vec<(&str, &str, bool, Option<u64>)> = inventory
        .interfaces
        .iter()
        .map(|i| (i.name.as_str(), i.mac_address.as_str(), i.has_carrier, i.speed_mbps))
        .collect();
    assert_eq!(
        nics,
        [("eth0", "52:54:00:ab:cd:ef", true, Some(1000)), ("eth1", "52:54:00:ab:cd:f0", false, None)]
    );
    assert_eq!(inventory.system_vendor.manufacturer, "Dell Inc.");
    assert_eq!(inventory.system_vendor.product_name, "PowerEdge R650");
    assert_eq!(inventory.system_vendor.serial_number, "ABC1234");
    assert_eq!(inventory.boot.current_boot_mode, "uefi");
    assert_eq!(inventory.boot.pxe_interface.as_deref(), Some("52:54:00:ab:cd:ef"));
    assert_eq!(inventory.hostname, "ramdisk");
    let json = serde_json::to_value(&inventory).expect("json");
    for key in ["cpu", "memory", "disks", "interfaces", "system_vendor", "boot", "bmc_address"] {
        assert!(json.get(key).is_some(), "inventory has {key}");
    }
    assert_eq!(json["disks"][0]["size"], 937_703_088u64 * 512);
}

#[test]
fn this_machines_inventory_is_sane() {
    let inventory = LinuxHardware::new().inventory().expect("inventory of this machine");
    let cpus = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    assert!(
        inventory.cpu.count as usize >= cpus,
        "{} CPUs in /proc/cpuinfo, {cpus} usable",
        inventory.cpu.count
    );
    assert_eq!(inventory.cpu.architecture, std::env::consts::ARCH);
    assert!(inventory.memory.total > 256 << 20, "{} bytes of memory", inventory.memory.total);
    assert!(inventory.memory.physical_mb * (1 << 20) >= inventory.memory.total);
    assert!(inventory.disks.iter().all(|d| d.size > 0 && d.name.starts_with("/dev/")));
    assert!(inventory.disks.iter().all(|d| !d.name.contains("loop") && !d.name.contains("ram")));
    assert!(inventory.interfaces.iter().all(|i| i.name != "lo" && i.mac_address.len() == 17));
    assert!(["uefi", "bios"].contains(&inventory.boot.current_boot_mode.as_str()));
}
