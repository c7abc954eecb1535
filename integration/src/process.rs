//! A `ferric` child process: started with its own state directory and ports,
//! killed on drop, its log printed when the test fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use ferric_testkit::{free_port, wait_for};

/// A running `ferric` process.
pub struct FerricProcess {
    child: Option<Child>,
    log: PathBuf,
    /// Whether dropping it during a panic prints its whole log; the distributed
    /// harness prints only tails of its many processes instead.
    print_log_on_panic: bool,
    /// Base URL of its REST API (empty for roles without one).
    pub api: String,
}

impl FerricProcess {
    /// Starts `ferric all-in-one` with its state under `state_dir` and its API on a
    /// free port, plus any extra `FERRIC_*` variables, and waits until `GET /`
    /// answers.
    pub async fn all_in_one(bin: &Path, state_dir: &Path, extra_env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut env: Vec<(&str, &str)> = vec![("FERRIC_GATEWAY__LISTEN", listen.as_str())];
        env.extend_from_slice(extra_env);
        let mut process = Self::spawn_role(bin, "all-in-one", state_dir, &env);
        process.print_log_on_panic = true;
        process.api = format!("http://127.0.0.1:{port}");
        process.wait_ready().await;
        process
    }

    /// Starts `ferric <role>` (`gateway`, `deploy`, `power`, `bootnet`,
    /// `imagecache`) with its state under `state_dir` and the given `FERRIC_*`
    /// variables, without waiting: what "ready" means depends on the role, so the
    /// distributed harness ([`crate::mesh`]) decides (a gateway answers `GET /`,
    /// an internal service appears in the store's registry).
    pub fn spawn_role(bin: &Path, role: &str, state_dir: &Path, env: &[(&str, &str)]) -> Self {
        std::fs::create_dir_all(state_dir).expect("state dir");
        let log = state_dir.join("ferric.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(bin);
        command
            .arg(role)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file);
        // Only what the caller passes configures ferric: a FERRIC_* variable of
        // the test's own environment (FERRIC_VENV, ...) is no config option.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("FERRIC_") {
                command.env_remove(key);
            }
        }
        command.env("FERRIC_STATE_DIR", state_dir);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("spawn ferric");
        Self { child: Some(child), log, print_log_on_panic: false, api: String::new() }
    }

    /// Waits until the REST API answers `GET /` (panics with the log if the
    /// process exits first), so a test never races a gateway's start-up.
    pub async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let url = format!("{}/", self.api);
        let log = self.log.clone();
        let child = self.child.as_mut().expect("running");
        wait_for(
            Duration::from_secs(60),
            &format!("ferric to answer {url} (log: {})", log.display()),
            || {
                let exited = child.try_wait().ok().flatten();
                let request = client.get(&url).send();
                let log = log.clone();
                async move {
                    if let Some(status) = exited {
                        panic!(
                            "ferric exited with {status} before answering:\n{}",
                            std::fs::read_to_string(log).unwrap_or_default()
                        );
                    }
                    request.await.ok().filter(|r| r.status().is_success()).map(|_| ())
                }
            },
        )
        .await;
    }

    /// Whether the process has exited (or was killed), for readiness checks that
    /// should fail fast instead of waiting out their deadline.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        match self.child.as_mut() {
            Some(child) => child.try_wait().ok().flatten(),
            None => Some(ExitStatus::default()),
        }
    }

    /// Its process id while it runs, to name it in reports.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Asks the process to stop (SIGTERM) and waits for it to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(sent.success(), "could not signal ferric");
        child.wait().expect("wait for ferric")
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Everything the process has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Where the process logs, so a failure message can point at it.
    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for FerricProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() && self.print_log_on_panic {
            eprintln!("--- ferric log ({}) ---\n{}", self.log.display(), self.log());
        }
    }
}
