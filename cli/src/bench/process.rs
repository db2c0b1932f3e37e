//! A child `patron-hub` process of a benchmark (the sandbox, `serve`), its
//! output in a log file, killed with SIGKILL when dropped.

use crate::CliError;
use std::path::Path;
use std::process::{Command, Stdio};

/// A running child process of this same binary.
pub struct Child(std::process::Child);

impl Child {
    /// Runs this binary with `args` and `envs`, appending its output to
    /// `<logs>/<name>.log`.
    pub fn start(
        name: &str,
        args: &[&str],
        envs: &[(&str, &str)],
        logs: &Path,
    ) -> Result<Self, CliError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logs.join(format!("{name}.log")))?;
        let child = Command::new(std::env::current_exe()?)
            .args(args)
            .envs(envs.iter().copied())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()?;
        Ok(Self(child))
    }

    /// SIGKILL: the process gets no chance to flush or clean up.
    pub fn kill(&mut self) {
        // Already gone is as good as killed.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}
