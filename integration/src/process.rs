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
    /// Base URL of its REST API.
    pub api: String,
}

impl FerricProcess {
    /// Starts `ferric all-in-one` with its state under `state_dir` and its API on a
    /// free port, plus any extra `FERRIC_*` variables, and waits until `GET /`
    /// answers.
    pub async fn all_in_one(bin: &Path, state_dir: &Path, extra_env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = state_dir.join("ferric.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(bin);
        command
            .arg("all-in-one")
            .env("FERRIC_STATE_DIR", state_dir)
            .env("FERRIC_GATEWAY__LISTEN", format!("127.0.0.1:{port}"))
            .env_remove("FERRIC_CONFIG")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file);
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let child = command.spawn().expect("spawn ferric");
        let mut process = Self { child: Some(child), log, api: format!("http://127.0.0.1:{port}") };
        process.wait_ready().await;
        process
    }

    async fn wait_ready(&mut self) {
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
}

impl Drop for FerricProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- ferric log ({}) ---\n{}", self.log.display(), self.log());
        }
    }
}
