//! Real DHCP clients and a real relay against Ferric's bootnet, in network
//! namespaces the tests create: ISC dhclient and busybox udhcpc obtain, renew and
//! release leases; ISC dhcrelay forwards to Ferric and its client gets an address
//! from the relay's subnet.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::lab::{Child, Lab, config, run};
use ferric_config::SubnetConfig;

/// A dhclient/udhcpc hook that configures the address (never touching
/// /etc/resolv.conf) and logs each event.
fn hook(lab: &Lab, name: &str) -> std::path::PathBuf {
    let log = lab.path(&format!("{name}.log"));
    let script = lab.path(&format!("{name}.sh"));
    let body = format!(
        "#!/bin/sh\n\
         ev=\"${{reason:-$1}}\"; addr=\"${{new_ip_address:-$ip}}\"; dev=\"${{interface}}\"\n\
         case \"$ev\" in\n\
           BOUND|RENEW|REBIND|REBOOT|bound|renew) ip addr flush dev \"$dev\"; ip addr add \"$addr/24\" dev \"$dev\" ;;\n\
           EXPIRE|FAIL|RELEASE|STOP|deconfig) ip addr flush dev \"$dev\" ;;\n\
         esac\n\
         echo \"$ev $addr\" >> {log}\n",
        log = log.display()
    );
    std::fs::write(&script, body).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    script
}

fn events(lab: &Lab, name: &str) -> String {
    std::fs::read_to_string(lab.path(&format!("{name}.log"))).unwrap_or_default()
}

#[test]
fn dhclient_obtains_renews_and_releases() {
    let mut settings = config();
    // T1 = 5 s, so the renewal happens within the test.
    settings.subnets[0].lease_secs = 10;
    let mut lab = Lab::new("dhc", settings, &[]);
    let client = lab.client("dhcc");
    let script = hook(&lab, "dhclient");
    let (lease_file, pid_file) = (lab.path("dhclient.leases"), lab.path("dhclient.pid"));
    let args = |extra: &[&str]| {
        let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        for (flag, path) in [("-lf", &lease_file), ("-pf", &pid_file), ("-sf", &script)] {
            args.push(flag.into());
            args.push(path.display().to_string());
        }
        args.push("eth0".into());
        args
    };
    let _dhclient = Child(
        client
            .command("dhclient")
            .args(args(&["-4", "-d", "-v"]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    lab.wait_until(Duration::from_secs(20), "dhclient to bind", |lab| {
        events(lab, "dhclient").contains("BOUND 10.77.0.")
    });
    let leases = lab.leases();
    assert_eq!(leases.len(), 1, "{leases:?}");
    let ip = leases[0].ip_address.clone();
    assert!(client.ipv4_addrs("eth0").contains(&format!("{ip}/24")), "{:?}", client.ipv4_addrs("eth0"));
    let first_expiry = leases[0].expires_at.unwrap().seconds;
    // At T1 dhclient renews by unicast; the lease is extended.
    lab.wait_until(Duration::from_secs(20), "dhclient to renew", |lab| {
        events(lab, "dhclient").contains(&format!("RENEW {ip}"))
    });
    lab.wait_until(Duration::from_secs(5), "the renewed lease", |lab| {
        lab.leases()
            .first()
            .is_some_and(|l| l.ip_address == ip && l.expires_at.unwrap().seconds > first_expiry)
    });
    // dhclient -r stops the running client and releases.
    let (ok, output) = run(client.command("dhclient").args(args(&["-4", "-r", "-v"])));
    assert!(ok, "{output}");
    lab.wait_until(Duration::from_secs(10), "the release", |lab| lab.leases().is_empty());
}

#[test]
fn udhcpc_obtains_renews_and_releases() {
    let mut lab = Lab::new("udh", config(), &[]);
    let client = lab.client("udhc");
    let script = hook(&lab, "udhcpc");
    let script = script.display().to_string();
    let udhcpc = client
        .command("busybox")
        .args(["udhcpc", "-f", "-i", "eth0", "-t", "5", "-T", "1", "-s", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = udhcpc.id().to_string();
    let _udhcpc = Child(udhcpc);
    lab.wait_until(Duration::from_secs(20), "udhcpc to bind", |lab| {
        events(lab, "udhcpc").contains("bound 10.77.0.")
    });
    let ip = lab.leases()[0].ip_address.clone();
    assert!(client.ipv4_addrs("eth0").contains(&format!("{ip}/24")));
    // `ip netns exec` runs udhcpc as its child with the same PID (it execs).
    let udhcpc_pid = || {
        let (_, pids) = run(std::process::Command::new("ip").args(["netns", "pids", client.name()]));
        pids.split_whitespace().next().unwrap_or(&pid).to_owned()
    };
    // SIGUSR1: renew now (unicast REQUEST with ciaddr).
    run(std::process::Command::new("kill").args(["-USR1", &udhcpc_pid()]));
    lab.wait_until(Duration::from_secs(10), "udhcpc to renew", |lab| {
        events(lab, "udhcpc").contains(&format!("renew {ip}"))
    });
    assert_eq!(lab.leases().len(), 1);
    // SIGUSR2: release.
    run(std::process::Command::new("kill").args(["-USR2", &udhcpc_pid()]));
    lab.wait_until(Duration::from_secs(10), "the release", |lab| lab.leases().is_empty());
    assert!(events(&lab, "udhcpc").contains("deconfig"), "{}", events(&lab, "udhcpc"));
}

#[test]
fn dhcrelay_forwards_and_the_client_gets_the_relay_subnet() {
    let mut settings = config();
    settings.subnets.push(SubnetConfig {
        network: "10.88.0.0/24".into(),
        pool_start: [10, 88, 0, 100].into(),
        pool_end: [10, 88, 0, 150].into(),
        router: Some([10, 88, 0, 1].into()),
        lease_secs: 3600,
        ..SubnetConfig::default()
    });
    let mut lab = Lab::new("rly", settings, &[]);
    // relay: eth0 on the server's bridge, eth1 towards the client's segment.
    let relay = lab.client("rlyr");
    relay.ip(&["addr", "add", "10.77.0.2/24", "dev", "eth0"]).unwrap();
    let client = ferric_testkit::Netns::new("rlyc").unwrap();
    relay.veth("eth1", &client, "eth0", None).unwrap();
    relay.ip(&["addr", "add", "10.88.0.1/24", "dev", "eth1"]).unwrap();
    lab.server.ip(&["route", "add", "10.88.0.0/24", "via", "10.77.0.2"]).unwrap();
    let _dhcrelay = Child(
        relay
            .command("dhcrelay")
            .args(["-4", "-d", "-id", "eth1", "-iu", "eth0", "10.77.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let script = hook(&lab, "relayed");
    let script = script.display().to_string();
    let mut ok = false;
    let mut output = String::new();
    // dhcrelay needs a moment to open its sockets; udhcpc retries within its run.
    for _ in 0..5 {
        (ok, output) = run(client
            .command("busybox")
            .args(["udhcpc", "-q", "-n", "-i", "eth0", "-t", "4", "-T", "1", "-s", &script]));
        if ok {
            break;
        }
    }
    assert!(ok, "udhcpc through the relay: {output}");
    let leases = lab.leases();
    assert_eq!(leases.len(), 1, "{leases:?}");
    assert!(leases[0].ip_address.starts_with("10.88.0."), "{leases:?}");
    assert!(events(&lab, "relayed").contains(&format!("bound {}", leases[0].ip_address)));
    assert!(client.ipv4_addrs("eth0").iter().any(|a| a.starts_with("10.88.0.")));
}
