//! Network namespaces for tests that need real L2 networks: DHCP clients, relays,
//! PXE virtual machines. The machine runs tests as root; each [`Netns`] has a
//! name unique to the test process and is deleted on drop, after every process
//! still running in it has been killed — so a failed test leaves nothing behind.
//!
//! A test puts its own server into a namespace with [`Netns::enter`], which moves
//! the calling thread only; threads it starts afterwards (a tokio runtime built
//! after entering) are born there too. Real peers run in namespaces through
//! [`Netns::command`] (`ip netns exec`).

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sched::{CloneFlags, setns};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A network namespace owned by the test.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `fk-<tag>-<pid>-<n>` with its loopback up.
    pub fn new(tag: &str) -> io::Result<Self> {
        let name = format!("fk-{tag}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        run(Command::new("ip").args(["netns", "add", &name]))?;
        let netns = Self { name };
        netns.ip(&["link", "set", "lo", "up"])?;
        Ok(netns)
    }

    /// The namespace's name, for `ip netns exec` and `ip -n`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n <name> ARGS`, failing with its stderr.
    pub fn ip(&self, args: &[&str]) -> io::Result<()> {
        run(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// Runs `program ARGS` in the namespace to completion.
    pub fn exec(&self, program: &str, args: &[&str]) -> io::Result<Output> {
        self.command(program).args(args).stdin(Stdio::null()).output()
    }

    /// Adds a bridge `name` with `addr` (CIDR), STP off and no forwarding delay, up.
    pub fn bridge(&self, name: &str, addr: &str) -> io::Result<()> {
        self.ip(&["link", "add", name, "type", "bridge", "stp_state", "0", "forward_delay", "0"])?;
        self.ip(&["addr", "add", addr, "dev", name])?;
        self.ip(&["link", "set", name, "up"])
    }

    /// Connects this namespace's `local` interface to `peer_ns`'s `remote` with a
    /// veth pair, both up; `local` joins `bridge` when given.
    pub fn veth(&self, local: &str, peer_ns: &Netns, remote: &str, bridge: Option<&str>) -> io::Result<()> {
        self.ip(&["link", "add", local, "type", "veth", "peer", "name", remote, "netns", &peer_ns.name])?;
        if let Some(bridge) = bridge {
            self.ip(&["link", "set", local, "master", bridge])?;
        }
        self.ip(&["link", "set", local, "up"])?;
        peer_ns.ip(&["link", "set", remote, "up"])
    }

    /// Adds a persistent tap device (for qemu) to `bridge`, up.
    pub fn tap(&self, name: &str, bridge: &str) -> io::Result<()> {
        self.ip(&["tuntap", "add", "dev", name, "mode", "tap"])?;
        self.ip(&["link", "set", name, "master", bridge])?;
        self.ip(&["link", "set", name, "up"])
    }

    /// Moves the calling thread into the namespace until the guard drops. Sockets
    /// it creates, and threads it spawns, live in the namespace.
    pub fn enter(&self) -> io::Result<Entered> {
        let original = File::open("/proc/thread-self/ns/net")?;
        let target = File::open(format!("/run/netns/{}", self.name))?;
        setns(target.as_fd(), CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        Ok(Entered { original })
    }

    /// The IPv4 addresses (CIDR) on `interface` in this namespace.
    pub fn ipv4_addrs(&self, interface: &str) -> Vec<String> {
        let output = Command::new("ip")
            .args(["-n", &self.name, "-4", "-o", "addr", "show", "dev", interface])
            .output();
        let Ok(output) = output else { return Vec::new() };
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                words.find(|w| *w == "inet")?;
                words.next().map(str::to_owned)
            })
            .collect()
    }
}

/// The calling thread's stay in a namespace; dropping it goes back.
#[derive(Debug)]
pub struct Entered {
    original: File,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let _ = setns(self.original.as_fd(), CloneFlags::CLONE_NEWNET);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(output) = Command::new("ip").args(["netns", "pids", &self.name]).output() {
            for pid in String::from_utf8_lossy(&output.stdout).split_whitespace() {
                if pid.parse::<u32>().is_ok_and(|p| p != std::process::id()) {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

fn run(command: &mut Command) -> io::Result<()> {
    let output = command.stdin(Stdio::null()).output()?;
    if output.status.success() {
        return Ok(());
    }
    Err(io::Error::other(format!("{:?} failed: {}", command, String::from_utf8_lossy(&output.stderr).trim())))
}
