//! Shared by the bootnet tests: a store in a temp dir, DHCP contexts, request
//! builders, and a bootnet with gRPC in a network namespace.

#![allow(dead_code)]

pub mod lab;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dhcproto::Encodable;
use dhcproto::v4::{Architecture, DhcpOption, Message, MessageType, OptionCode, UnknownOption};
use ferric_bootnet::dhcp::DhcpContext;
use ferric_bootnet::dhcp::lease::LeaseDb;
use ferric_bootnet::dhcp::pool::Subnet;
use ferric_bootnet::dhcp::pxe::IpxeFiles;
use ferric_bootnet::registry::{BootNode, BootTarget, Firmware, Registry};
use ferric_config::{ReservationConfig, SubnetConfig};
use ferric_store::DynStore;
use ferric_store::embedded::EmbeddedStore;

pub const SERVER: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);

pub async fn store(dir: &Path) -> DynStore {
    Arc::new(EmbeddedStore::open(dir.join("store.redb")).await.expect("embedded store opens"))
}

pub fn subnets() -> Vec<SubnetConfig> {
    vec![
        SubnetConfig {
            network: "10.1.0.0/24".into(),
            pool_start: [10, 1, 0, 100].into(),
            pool_end: [10, 1, 0, 110].into(),
            router: Some([10, 1, 0, 254].into()),
            dns_servers: vec![[10, 1, 0, 53].into()],
            lease_secs: 600,
            reservations: vec![ReservationConfig {
                mac: "52:54:00:00:00:77".into(),
                ip: [10, 1, 0, 77].into(),
            }],
            ..SubnetConfig::default()
        },
        SubnetConfig {
            network: "10.2.0.0/24".into(),
            pool_start: [10, 2, 0, 100].into(),
            pool_end: [10, 2, 0, 110].into(),
            lease_secs: 600,
            ..SubnetConfig::default()
        },
    ]
}

pub async fn context(store: DynStore, discovery: bool) -> DhcpContext {
    DhcpContext {
        server: SERVER,
        subnets: subnets().iter().map(|s| Subnet::from_config(s, &[SERVER]).unwrap()).collect(),
        leases: LeaseDb::open(store.clone()).await.unwrap(),
        registry: Registry::open(store).await.unwrap(),
        files: IpxeFiles {
            bios: Some("undionly.kpxe".into()),
            uefi_x64: Some("ipxe.efi".into()),
            uefi_arm64: None,
        },
        http_base: "http://10.1.0.1:8080".into(),
        discovery,
    }
}

pub fn node(uuid: &str, mac: &str, target: BootTarget, firmware: Firmware) -> BootNode {
    BootNode {
        uuid: uuid.into(),
        macs: vec![mac.into()],
        target,
        kernel_url: "http://10.1.0.1:8080/files/vmlinuz".into(),
        ramdisk_url: "http://10.1.0.1:8080/files/initrd".into(),
        kernel_args: "console=ttyS0".into(),
        firmware,
    }
}

pub fn mac_bytes(mac: &str) -> Vec<u8> {
    mac.split(':').map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
}

/// Who is asking.
#[derive(Clone, Copy, Debug)]
pub enum Firmware_ {
    Os,
    Bios,
    Uefi,
    Ipxe,
}

pub fn request(kind: MessageType, mac: &str, who: Firmware_) -> Message {
    let mut msg = Message::new(
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        &mac_bytes(mac),
    );
    let opts = msg.opts_mut();
    opts.insert(DhcpOption::MessageType(kind));
    match who {
        Firmware_::Os => {}
        Firmware_::Bios => {
            opts.insert(DhcpOption::ClassIdentifier(b"PXEClient:Arch:00000:UNDI:002001".to_vec()));
            opts.insert(DhcpOption::ClientSystemArchitecture(Architecture(0)));
            opts.insert(DhcpOption::ClientMachineIdentifier(vec![0; 17]));
        }
        Firmware_::Uefi => {
            opts.insert(DhcpOption::ClassIdentifier(b"PXEClient:Arch:00007:UNDI:003016".to_vec()));
            opts.insert(DhcpOption::ClientSystemArchitecture(Architecture(7)));
        }
        Firmware_::Ipxe => {
            opts.insert(DhcpOption::ClassIdentifier(b"PXEClient:Arch:00000:UNDI:002001".to_vec()));
            opts.insert(DhcpOption::UserClass(b"iPXE".to_vec()));
            opts.insert(DhcpOption::Unknown(UnknownOption::new(OptionCode::Unknown(175), vec![19, 1, 1])));
        }
    }
    msg
}

pub fn bytes(msg: &Message) -> Vec<u8> {
    msg.to_vec().unwrap()
}

pub fn decode(bytes: &[u8]) -> Message {
    use dhcproto::Decodable;
    Message::from_bytes(bytes).unwrap()
}

pub fn client_addr() -> SocketAddr {
    "0.0.0.0:68".parse().unwrap()
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn root_with(files: &[(&str, &[u8])]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempdir();
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    for (name, content) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    (dir, root)
}
