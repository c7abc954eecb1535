//! A provisioning network in namespaces: the server's namespace holds bridge
//! `br0` (10.77.0.1/24) and Ferric's bootnet with its gRPC server; clients get
//! their own namespaces wired to the bridge. The test thread enters the server
//! namespace before building its runtime, so every socket bootnet opens (DHCP,
//! TFTP transfer IDs, HTTP, gRPC) is there.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferric_bootnet::{Bootnet, BootnetSettings};
use ferric_config::{BootnetConfig, DhcpMode, SubnetConfig};
use ferric_mesh::{MeshServer, ServerOptions, ServiceKind};
use ferric_proto::v1::boot_network_service_client::BootNetworkServiceClient;
use ferric_proto::v1::boot_network_service_server::BootNetworkServiceServer;
use ferric_proto::v1::{Lease, ListLeasesRequest, NetbootConfig, NetbootMode, NodeRef, RegisterNodeRequest};
use ferric_store::embedded::EmbeddedStore;
use ferric_testkit::Netns;
use ferric_testkit::netns::Entered;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tonic::transport::Channel;

pub const SERVER_IP: &str = "10.77.0.1";

pub struct Lab {
    pub runtime: Runtime,
    pub bootnet: Option<Bootnet>,
    pub grpc: BootNetworkServiceClient<Channel>,
    stop_grpc: Option<oneshot::Sender<()>>,
    pub root: PathBuf,
    pub dir: tempfile::TempDir,
    links: usize,
    _entered: Entered,
    pub server: Netns,
}

/// The default lab configuration: authoritative DHCP on br0, TFTP and HTTP on
/// the server address.
pub fn config() -> BootnetConfig {
    BootnetConfig {
        dhcp_mode: DhcpMode::Authoritative,
        interface: Some("br0".into()),
        server_address: Some(SERVER_IP.parse().unwrap()),
        tftp_listen: Some(format!("{SERVER_IP}:69").parse().unwrap()),
        http_listen: format!("{SERVER_IP}:8080").parse().unwrap(),
        subnets: vec![SubnetConfig {
            network: "10.77.0.0/24".into(),
            pool_start: [10, 77, 0, 100].into(),
            pool_end: [10, 77, 0, 150].into(),
            lease_secs: 3600,
            ..SubnetConfig::default()
        }],
        ..BootnetConfig::default()
    }
}

impl Lab {
    pub fn new(tag: &str, config: BootnetConfig, files: &[(&str, &[u8])]) -> Lab {
        let server = Netns::new(tag).expect("server namespace");
        server.bridge("br0", &format!("{SERVER_IP}/24")).expect("bridge");
        let entered = server.enter().expect("enter the server namespace");
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        for (name, content) in files {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        let (bootnet, grpc, stop_grpc) = runtime.block_on(async {
            let store = Arc::new(EmbeddedStore::open(dir.path().join("store.redb")).await.unwrap());
            let settings = BootnetSettings::new(config, root.clone());
            let bootnet = Bootnet::start(store, settings).await.expect("bootnet starts");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr: SocketAddr = listener.local_addr().unwrap();
            let options = ServerOptions { kind: ServiceKind::Bootnet, instance_id: "test".into(), tls: None };
            let (stop, stopped) = oneshot::channel::<()>();
            let service = BootNetworkServiceServer::new(bootnet.grpc());
            tokio::spawn(async move {
                let _ = MeshServer::new(options)
                    .add_service(service)
                    .serve(listener, async {
                        let _ = stopped.await;
                    })
                    .await;
            });
            let grpc = ferric_testkit::wait_for(Duration::from_secs(10), "the gRPC server", || async move {
                BootNetworkServiceClient::connect(format!("http://{addr}")).await.ok()
            })
            .await;
            (bootnet, grpc, stop)
        });
        Lab {
            runtime,
            bootnet: Some(bootnet),
            grpc,
            stop_grpc: Some(stop_grpc),
            root,
            dir,
            links: 0,
            _entered: entered,
            server,
        }
    }

    /// A client namespace whose `eth0` is on the bridge.
    pub fn client(&mut self, tag: &str) -> Netns {
        let client = Netns::new(tag).expect("client namespace");
        let local = format!("vc{}", self.links);
        self.links += 1;
        self.server.veth(&local, &client, "eth0", Some("br0")).expect("veth to the bridge");
        client
    }

    /// A client namespace on the bridge with a fixed address (no DHCP needed).
    pub fn addressed_client(&mut self, tag: &str) -> Netns {
        let host = 10 + self.links;
        let client = self.client(tag);
        client.ip(&["addr", "add", &format!("10.77.0.{host}/24"), "dev", "eth0"]).expect("client address");
        client
    }

    pub fn register(&mut self, uuid: &str, mac: &str, kernel: &str, ramdisk: &str) {
        let request = RegisterNodeRequest {
            node: Some(NodeRef::new(uuid)),
            config: Some(NetbootConfig {
                macs: vec![mac.into()],
                mode: NetbootMode::Deploy as i32,
                kernel_url: kernel.into(),
                ramdisk_url: ramdisk.into(),
                kernel_args: "console=ttyS0".into(),
                boot_mode: 0,
            }),
        };
        let mut grpc = self.grpc.clone();
        self.runtime.block_on(async move { grpc.register_node(request).await }).expect("RegisterNode");
    }

    pub fn leases(&self) -> Vec<Lease> {
        let mut grpc = self.grpc.clone();
        self.runtime
            .block_on(async move { grpc.list_leases(ListLeasesRequest { node: None }).await })
            .expect("ListLeases")
            .into_inner()
            .leases
    }

    /// Polls `check` every 50 ms until it holds, for at most `timeout`.
    pub fn wait_until(&self, timeout: Duration, what: &str, mut check: impl FnMut(&Lab) -> bool) {
        let deadline = std::time::Instant::now() + timeout;
        while !check(self) {
            assert!(std::time::Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
            self.runtime.block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(stop) = self.stop_grpc.take() {
            let _ = stop.send(());
        }
        if let Some(bootnet) = self.bootnet.take() {
            self.runtime.block_on(bootnet.stop());
        }
    }
}

/// Runs a command to completion, returning (success, stdout+stderr).
pub fn run(command: &mut std::process::Command) -> (bool, String) {
    let output = command.stdin(std::process::Stdio::null()).output().expect("command runs");
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// A child process killed on drop.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Deterministic pseudo-random bytes.
pub fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2654435761).max(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}
