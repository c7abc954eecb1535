//! A real Redfish service: `sushy-emulator` (sushy-tools, from PyPI into the
//! project venv) with its fake systems driver — no libvirt — on a free loopback
//! port, optionally behind HTTP basic auth (an htpasswd file with a bcrypt hash)
//! and TLS (a test CA and a server certificate made with rcgen).
//!
//! The fake driver applies power changes 1–11 s after the request, as slow
//! hardware would, so tests wait for states with a generous deadline.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::poll::{free_port, wait_until};

/// How long sushy-emulator may take to listen (Python imports are slow).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The project venv that `scripts/install-deps.sh test` fills.
pub fn venv() -> PathBuf {
    if let Some(v) = std::env::var_os("FERRIC_VENV") {
        return PathBuf::from(v);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ferric-target")
    });
    target.join("venv")
}

/// What to start.
#[derive(Debug, Clone)]
pub struct SushyOptions {
    /// Number of fake systems (uuids are derived from the index).
    pub systems: usize,
    /// Basic-auth user and password; None serves without authentication.
    pub auth: Option<(String, String)>,
    /// Serve HTTPS with a certificate for 127.0.0.1/localhost signed by a test CA.
    pub tls: bool,
}

impl Default for SushyOptions {
    fn default() -> Self {
        Self { systems: 1, auth: None, tls: false }
    }
}

/// One running sushy-emulator, killed when dropped.
#[derive(Debug)]
pub struct SushyEmulator {
    dir: TempDir,
    port: u16,
    tls: bool,
    uuids: Vec<String>,
    _child: Child,
}

/// The uuid of fake system `i`.
pub fn system_uuid(i: usize) -> String {
    format!("27946b59-9e44-4fa7-8e91-{i:012x}")
}

fn write_tls(dir: &Path) -> io::Result<()> {
    let err = |e: rcgen::Error| io::Error::other(e.to_string());
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "ferric test CA");
    let ca_key = rcgen::KeyPair::generate().map_err(err)?;
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).map_err(err)?;
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).map_err(err)?;
    let key = rcgen::KeyPair::generate().map_err(err)?;
    let cert = params.signed_by(&key, &ca).map_err(err)?;
    std::fs::write(dir.join("ca.pem"), ca.pem())?;
    std::fs::write(dir.join("cert.pem"), cert.pem())?;
    std::fs::write(dir.join("key.pem"), key.serialize_pem())?;
    Ok(())
}

impl SushyEmulator {
    /// Starts the emulator and waits until it accepts connections.
    pub async fn start(options: SushyOptions) -> io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("ferric-sushy-").tempdir()?;
        let port = free_port();
        let python = venv().join("bin/python");
        let uuids: Vec<String> = (0..options.systems).map(system_uuid).collect();
        let systems: Vec<String> = uuids
            .iter()
            .enumerate()
            .map(|(i, uuid)| {
                format!(
                    "{{'uuid': '{uuid}', 'name': 'node{i}', 'power_state': 'Off', 'nics': [{{'mac': '52:54:00:00:{:02x}:{:02x}', 'ip': '10.0.0.{}'}}]}}",
                    i / 256,
                    i % 256,
                    i % 250 + 2
                )
            })
            .collect();
        let mut config = format!(
            "SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'\nSUSHY_EMULATOR_LISTEN_PORT = {port}\nSUSHY_EMULATOR_FAKE_DRIVER = True\n\
             SUSHY_EMULATOR_STATE_DIR = '{state}'\nSUSHY_EMULATOR_FAKE_SYSTEMS = [{systems}]\n",
            state = dir.path().join("state").display(),
            systems = systems.join(", ")
        );
        if let Some((user, password)) = &options.auth {
            // bcrypt through the venv's bcrypt (a sushy-tools dependency).
            let hash = Command::new(&python)
                .args(["-c", "import bcrypt,sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(rounds=4)).decode())", password])
                .output()
                .await?;
            if !hash.status.success() {
                return Err(io::Error::other(format!(
                    "bcrypt failed: {}",
                    String::from_utf8_lossy(&hash.stderr)
                )));
            }
            let line = format!("{user}:{}\n", String::from_utf8_lossy(&hash.stdout).trim());
            std::fs::write(dir.path().join("htpasswd"), line)?;
            config.push_str(&format!(
                "SUSHY_EMULATOR_AUTH_FILE = '{}'\n",
                dir.path().join("htpasswd").display()
            ));
        }
        if options.tls {
            write_tls(dir.path())?;
            config.push_str(&format!(
                "SUSHY_EMULATOR_SSL_CERT = '{}'\nSUSHY_EMULATOR_SSL_KEY = '{}'\n",
                dir.path().join("cert.pem").display(),
                dir.path().join("key.pem").display()
            ));
        }
        std::fs::create_dir_all(dir.path().join("state"))?;
        std::fs::write(dir.path().join("emulator.conf"), config)?;
        let binary = venv().join("bin/sushy-emulator");
        let log = std::fs::File::create(dir.path().join("sushy.log"))?;
        let child = Command::new(&binary)
            .arg("--config")
            .arg(dir.path().join("emulator.conf"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot start {} (run scripts/install-deps.sh test): {e}", binary.display()),
                )
            })?;
        wait_until(READY_TIMEOUT, &format!("sushy-emulator on port {port}"), || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
        })
        .await;
        Ok(Self { dir, port, tls: options.tls, uuids, _child: child })
    }

    /// scheme://127.0.0.1:port
    pub fn base_url(&self) -> String {
        format!("{}://127.0.0.1:{}", if self.tls { "https" } else { "http" }, self.port)
    }

    /// The fake systems' uuids, in order.
    pub fn system_uuids(&self) -> &[String] {
        &self.uuids
    }

    /// The CA that signed the server certificate (with `tls`).
    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The emulator's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sushy.log")).unwrap_or_default()
    }

    /// Its working directory (serve images for virtual media from here).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
