//! Starts the real binary for end-to-end tests and builds SDK clients for it.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

/// A running `rampart serve` on a free loopback port.
pub struct Server {
    child: Child,
    _dir: Option<tempfile::TempDir>,
    pub data_dir: PathBuf,
    pub endpoint: String,
    pub root_key: String,
    pub root_secret: String,
    pub banner: String,
    killed: bool,
}

impl Server {
    /// Starts a server on a fresh temporary data dir.
    pub fn start(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Server::start_in(dir.path(), args);
        s._dir = Some(dir);
        s
    }

    /// Starts a server on `data_dir` (which may hold an earlier run's state).
    pub fn start_in(data_dir: &Path, args: &[&str]) -> Server {
        Server::start_wrapped(data_dir, args, &[])
    }

    /// Starts a server on `data_dir` through `wrapper` (a command line that runs the binary
    /// given as its last argument, e.g. `["prlimit", "--nofile=256:256", "--"]`).
    pub fn start_wrapped(data_dir: &Path, args: &[&str], wrapper: &[&str]) -> Server {
        let bin = env!("CARGO_BIN_EXE_rampart");
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let mut child = command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env("RAMPART_LOG", "warn")
            .env_remove("RAMPART_ROOT_ACCESS_KEY_ID")
            .env_remove("RAMPART_ROOT_SECRET_ACCESS_KEY")
            .env_remove("RAMPART_MASTER_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn rampart");
        let stdout = child.stdout.take().expect("stdout");
        let mut banner = String::new();
        let mut endpoint = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read banner");
            banner.push_str(&line);
            banner.push('\n');
            if let Some(rest) = line.trim().strip_prefix("endpoint:") {
                endpoint = Some(rest.trim().to_string());
            }
            if line.trim() == "Ready." {
                break;
            }
        }
        let endpoint = endpoint.unwrap_or_else(|| panic!("no endpoint in banner:\n{banner}"));
        let creds = std::fs::read_to_string(data_dir.join("root-credentials")).expect("creds");
        let field = |name: &str| {
            creds
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once('=')?;
                    (k.trim() == name).then(|| v.trim().to_string())
                })
                .expect("credential field")
        };
        Server {
            root_key: field("aws_access_key_id"),
            root_secret: field("aws_secret_access_key"),
            child,
            _dir: None,
            data_dir: data_dir.to_path_buf(),
            endpoint,
            banner,
            killed: false,
        }
    }

    /// Moves the dev-mode clock forward by `secs` (`POST /_rampart/clock`); panics when the
    /// server refuses.
    pub async fn advance_clock(&self, secs: i64) {
        let resp = reqwest::Client::new()
            .post(format!("{}/_rampart/clock", self.endpoint))
            .body(format!(r#"{{"advance_seconds": {secs}}}"#))
            .send()
            .await
            .expect("clock");
        assert!(
            resp.status().is_success(),
            "clock advance refused: {}",
            resp.status()
        );
    }

    /// SDK configuration signing with the given key.
    pub async fn sdk_config(&self, key: &str, secret: &str, region: &str) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new(region.to_string()))
            .credentials_provider(aws_credential_types::Credentials::new(
                key, secret, None, None, "test",
            ))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await
    }

    /// An STS client signing with the given key.
    pub async fn sts(&self, key: &str, secret: &str, region: &str) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.sdk_config(key, secret, region).await)
    }

    /// An IAM client signing with the given key.
    pub async fn iam(&self, key: &str, secret: &str) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk_config(key, secret, "us-east-1").await)
    }

    /// A CloudTrail client signing as the root user.
    pub async fn cloudtrail(&self) -> aws_sdk_cloudtrail::Client {
        aws_sdk_cloudtrail::Client::new(
            &self
                .sdk_config(&self.root_key, &self.root_secret, "us-east-1")
                .await,
        )
    }
}

impl Server {
    /// Kills the server with SIGKILL (no shutdown, no flush), as a crash or power cut would,
    /// and gives back its data directory.
    pub fn kill9(mut self) -> PathBuf {
        self.kill_hard();
        self.data_dir.clone()
    }

    /// Kills the process at once (SIGKILL): no shutdown, no flush, no lease release.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.killed = true;
    }

    /// `GET /_rampart/health` as JSON.
    pub async fn health(&self) -> serde_json::Value {
        let text = reqwest::Client::new()
            .get(format!("{}/_rampart/health", self.endpoint))
            .send()
            .await
            .expect("health")
            .text()
            .await
            .expect("health body");
        serde_json::from_str(&text).expect("health JSON")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.killed || matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SIGTERM first so the graceful shutdown (and the audit flush) runs.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// Runs `rampart serve` on `data_dir` expecting it to refuse to start within 60 s; returns what
/// it printed on stderr. Panics if the server starts instead.
pub fn start_refused(data_dir: &Path, args: &[&str]) -> String {
    use std::io::Read as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .env("RAMPART_LOG", "warn")
        .env_remove("RAMPART_ROOT_ACCESS_KEY_ID")
        .env_remove("RAMPART_ROOT_SECRET_ACCESS_KEY")
        .env_remove("RAMPART_MASTER_KEY")
        .env_remove("RAMPART_INIT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rampart");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let mut out = String::new();
            let _ = child
                .stdout
                .take()
                .expect("stdout")
                .read_to_string(&mut out);
            panic!("the server started instead of refusing:\n{out}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    let _ = child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout);
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr);
    assert!(
        !status.success(),
        "start must fail; stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(!stdout.contains("Ready."), "it must not serve:\n{stdout}");
    stderr
}
