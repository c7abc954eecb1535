//! `just bench bootnet`: DHCP exchanges per second with Kea's `perfdhcp` against
//! Ferric, `kea-dhcp4` and `dnsmasq`, each in the same namespace setup (server
//! namespace with bridge `br0`, perfdhcp in a client namespace on a veth, acting
//! as a relay as it does when given a server address); and TFTP throughput for a
//! 64 MiB file, Ferric against `tftpd-hpa`, fetched by `atftp` from the client
//! namespace with the default block size and with blksize 1468 + windowsize 16.
//!
//! Prints a Markdown table. Run as root (namespaces).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferric_bootnet::{Bootnet, BootnetSettings};
use ferric_config::{BootnetConfig, DhcpMode, SubnetConfig};
use ferric_store::embedded::EmbeddedStore;
use ferric_testkit::Netns;

const SERVER: &str = "10.66.0.1";
const CLIENT: &str = "10.66.0.2";
/// Seconds each perfdhcp run lasts.
const DHCP_SECS: &str = "10";
/// Distinct clients perfdhcp simulates (fits the pool of every server).
const CLIENTS: &str = "50000";
const TFTP_SIZE: usize = 64 << 20;

fn main() {
    let work = tempfile::tempdir().expect("temp dir");
    let server = Netns::new("bsrv").expect("server namespace (run as root)");
    server.bridge("br0", &format!("{SERVER}/16")).unwrap();
    let client = Netns::new("bcli").unwrap();
    server.veth("vb0", &client, "eth0", Some("br0")).unwrap();
    client.ip(&["addr", "add", &format!("{CLIENT}/16"), "dev", "eth0"]).unwrap();
    let _entered = server.enter().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    let root = work.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let payload: Vec<u8> =
        (0..TFTP_SIZE).map(|i| (i as u32).wrapping_mul(2654435761).to_be_bytes()[0]).collect();
    std::fs::write(root.join("big.bin"), &payload).unwrap();

    let mut rows = Vec::new();
    // --- DHCP ---
    let bootnet = runtime.block_on(async {
        let store = Arc::new(EmbeddedStore::open(work.path().join("store.redb")).await.unwrap());
        let config = BootnetConfig {
            dhcp_mode: DhcpMode::Authoritative,
            interface: Some("br0".into()),
            server_address: Some(SERVER.parse().unwrap()),
            tftp_listen: Some(format!("{SERVER}:69").parse().unwrap()),
            http_listen: format!("{SERVER}:8080").parse().unwrap(),
            tftp_max_per_client: 64,
            subnets: vec![SubnetConfig {
                network: "10.66.0.0/16".into(),
                pool_start: [10, 66, 1, 0].into(),
                pool_end: [10, 66, 255, 250].into(),
                lease_secs: 3600,
                ..SubnetConfig::default()
            }],
            ..BootnetConfig::default()
        };
        Bootnet::start(store, BootnetSettings::new(config, root.clone())).await.expect("bootnet starts")
    });
    rows.push(("DHCP 4-way exchanges/s (perfdhcp)", "Ferric", perfdhcp(&client)));
    runtime.block_on(async {
        // Ferric keeps serving TFTP; only DHCP has to leave port 67 for the others.
        bootnet.stop().await;
    });

    let kea_conf = work.path().join("kea.json");
    std::fs::write(
        &kea_conf,
        format!(
            r#"{{"Dhcp4": {{
  "interfaces-config": {{"interfaces": ["br0/{SERVER}"], "dhcp-socket-type": "udp"}},
  "lease-database": {{"type": "memfile", "persist": true, "name": "{leases}"}},
  "valid-lifetime": 3600,
  "subnet4": [{{"id": 1, "subnet": "10.66.0.0/16", "pools": [{{"pool": "10.66.1.0 - 10.66.255.250"}}]}}],
  "loggers": [{{"name": "kea-dhcp4", "severity": "ERROR", "output_options": [{{"output": "stderr"}}]}}]
}}}}"#,
            leases = work.path().join("kea.leases").display()
        ),
    )
    .unwrap();
    {
        let _kea = Spawned::start(
            server
                .command("kea-dhcp4")
                .arg("-c")
                .arg(&kea_conf)
                .env("KEA_PIDFILE_DIR", work.path())
                .env("KEA_LOCKFILE_DIR", work.path()),
        );
        wait_for_port(&server, 67);
        rows.push(("DHCP 4-way exchanges/s (perfdhcp)", "kea-dhcp4 2.2 (memfile)", perfdhcp(&client)));
    }
    {
        let dnsmasq_conf = work.path().join("dnsmasq.conf");
        std::fs::write(
            &dnsmasq_conf,
            format!(
                "port=0\ninterface=br0\nbind-interfaces\ndhcp-range=10.66.1.0,10.66.255.250,255.255.0.0,1h\n\
                 dhcp-authoritative\nno-ping\ndhcp-lease-max=100000\ndhcp-leasefile={}\n",
                work.path().join("dnsmasq.leases").display()
            ),
        )
        .unwrap();
        let _dnsmasq = Spawned::start(
            server.command("dnsmasq").arg("-k").arg("-C").arg(&dnsmasq_conf).arg("--log-facility=/dev/null"),
        );
        wait_for_port(&server, 67);
        rows.push(("DHCP 4-way exchanges/s (perfdhcp)", "dnsmasq 2.90", perfdhcp(&client)));
    }

    // --- TFTP ---
    let tftp = runtime.block_on(async {
        let store = Arc::new(EmbeddedStore::open(work.path().join("store2.redb")).await.unwrap());
        let config = BootnetConfig {
            tftp_listen: Some(format!("{SERVER}:69").parse().unwrap()),
            http_listen: format!("{SERVER}:8081").parse().unwrap(),
            ..BootnetConfig::default()
        };
        Bootnet::start(store, BootnetSettings::new(config, root.clone())).await.expect("bootnet starts")
    });
    let _hpa = Spawned::start(
        server.command("in.tftpd").args(["-L", "-s", "-a", &format!("{SERVER}:1069")]).arg(&root),
    );
    wait_for_port(&server, 1069);
    let out = work.path().join("out.bin");
    for (server_name, port) in [("Ferric", "69"), ("tftpd-hpa 5.2", "1069")] {
        for (label, options) in [
            ("TFTP 64 MiB, default blksize (512), MB/s", &[][..]),
            (
                "TFTP 64 MiB, blksize 1468 + windowsize 16, MB/s",
                &["--option", "blksize 1468", "--option", "windowsize 16"][..],
            ),
        ] {
            let started = Instant::now();
            let status = client
                .command("atftp")
                .args(options)
                .args(["-g", "-r", "big.bin", "-l"])
                .arg(&out)
                .args([SERVER, port])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            let elapsed = started.elapsed();
            let ok = status.success() && std::fs::read(&out).map(|b| b == payload).unwrap_or(false);
            let rate = if ok { TFTP_SIZE as f64 / elapsed.as_secs_f64() / 1e6 } else { 0.0 };
            rows.push((label, server_name, format!("{rate:.1}{}", if ok { "" } else { " (FAILED)" })));
        }
    }
    runtime.block_on(tftp.stop());

    println!("| measurement | server | result |\n|---|---|---|");
    for (what, who, value) in rows {
        println!("| {what} | {who} | {value} |");
    }
}

/// Runs perfdhcp for DHCP_SECS at an unbounded rate and returns completed
/// DORA exchanges per second.
fn perfdhcp(client: &Netns) -> String {
    let output = client
        .command("perfdhcp")
        .args(["-4", "-r", "100000", "-R", CLIENTS, "-p", DHCP_SECS, "-l", "eth0", SERVER])
        .stdin(Stdio::null())
        .output()
        .expect("perfdhcp runs");
    let text =
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    // The REQUEST-ACK section's "received packets" counts completed exchanges.
    let received: Vec<u64> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("received packets: "))
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    match received.get(1) {
        Some(acks) => {
            let secs: f64 = DHCP_SECS.parse().unwrap();
            format!("{:.0}", *acks as f64 / secs)
        }
        None => format!("no result ({})", text.lines().last().unwrap_or("")),
    }
}

struct Spawned(std::process::Child);

impl Spawned {
    fn start(command: &mut Command) -> Self {
        Self(
            command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("server starts"),
        )
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_port(server: &Netns, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let out =
            server.exec("ss", &["-lnuH", &format!("sport = :{port}")]).map(|o| o.stdout).unwrap_or_default();
        if !out.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on UDP {port}");
}
