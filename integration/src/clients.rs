//! The real Python clients (`baremetal`, openstacksdk) that `just test`
//! installs into a virtualenv beside the build output, run against a Ferric
//! process as an operator would run them.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The virtualenv `scripts/install-deps.sh test` fills: `$FERRIC_VENV`, else
/// `venv` under the Cargo target directory.
pub fn venv() -> PathBuf {
    if let Some(venv) = std::env::var_os("FERRIC_VENV") {
        return PathBuf::from(venv);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ferric-target")
    });
    target.join("venv")
}

/// A program of the virtualenv; panics with the fix when `just test` has not
/// installed it (tests never skip a missing peer).
pub fn venv_tool(name: &str) -> PathBuf {
    let path = venv().join("bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `just test` (scripts/install-deps.sh test) to install it",
        path.display()
    );
    path
}

/// What one CLI run printed.
#[derive(Debug)]
pub struct CliOutput {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CliOutput {
    /// Standard output parsed as JSON (for `-f json`); panics with the output
    /// otherwise.
    pub fn json(&self) -> Value {
        assert_eq!(self.code, 0, "command failed: {self:?}");
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// The `baremetal` CLI (python-ironicclient) pointed at `api` without auth, as
/// the README tells operators to run it.
pub struct Baremetal {
    api: String,
}

impl Baremetal {
    /// A CLI for the Ferric API at `api`.
    pub fn new(api: &str) -> Self {
        Self { api: api.to_owned() }
    }

    /// Runs `baremetal <args>` to completion.
    pub fn run(&self, args: &[&str]) -> CliOutput {
        let output = Command::new(venv_tool("baremetal"))
            .args(["--os-endpoint", &self.api, "--os-auth-type", "none"])
            .args(args)
            .env_remove("OS_CLOUD")
            .output()
            .expect("run baremetal");
        CliOutput {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs a command that must succeed and returns its JSON output (`-f json`
    /// is appended).
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-f", "json"]);
        self.run(&all).json()
    }

    /// Runs a command that must succeed.
    pub fn ok(&self, args: &[&str]) -> CliOutput {
        let output = self.run(args);
        assert_eq!(output.code, 0, "baremetal {args:?} failed: {output:?}");
        output
    }
}

/// Runs a Python script with the virtualenv's interpreter (openstacksdk is
/// installed there), passing `env`; returns what it printed.
pub fn python(script: &str, env: &[(&str, &str)]) -> CliOutput {
    let mut command = Command::new(venv_tool("python3"));
    command.args(["-c", script]);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run python");
    CliOutput {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
