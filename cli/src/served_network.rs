//! What `serve` records in its data folder — the configuration file it was
//! started with, or the demo sandbox's address — so that operator commands
//! pointed at the same folder (`backfill`, `reconcile`) find the same
//! network without being told again.

use crate::config::{Runtime, Settings};
use crate::CliError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file inside the data folder.
const FILE: &str = "serve.json";

/// The network a `serve` ran on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "network", rename_all = "snake_case")]
pub enum ServedNetwork {
    /// A real network: the configuration file (absolute), whose secrets come
    /// from the environment, as for `serve`.
    Config {
        /// The file's absolute path.
        path: PathBuf,
    },
    /// The demo network on the Alma sandbox at this address.
    Demo {
        /// The sandbox's base URL.
        sandbox_url: String,
    },
}

impl ServedNetwork {
    /// Records this network in `data` (replacing what an earlier `serve` wrote).
    pub fn record(&self, data: &Path) -> Result<(), CliError> {
        std::fs::write(data.join(FILE), serde_json::to_vec_pretty(self)?)?;
        Ok(())
    }

    /// What the last `serve` on `data` recorded, if any.
    pub fn recorded(data: &Path) -> Result<Option<Self>, CliError> {
        match std::fs::read(data.join(FILE)) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}

/// The network of an operator command: `--config` when given, else the one
/// the `serve` using `data` recorded.
pub fn runtime_for(data: &Path, config: Option<&Path>) -> Result<Runtime, CliError> {
    let load = |path: &Path| -> Result<Runtime, CliError> {
        Ok(Settings::load(path)?.resolve(|name| std::env::var(name).ok())?)
    };
    match (config, ServedNetwork::recorded(data)?) {
        (Some(path), _) => load(path),
        (None, Some(ServedNetwork::Config { path })) => load(&path),
        (None, Some(ServedNetwork::Demo { sandbox_url })) => Ok(Runtime::demo(&sandbox_url)),
        (None, None) => Err(format!(
            "no --config, and no `patron-hub serve` has recorded its network in {}",
            data.join(FILE).display()
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_network_reads_back() {
        let data = tempfile::tempdir().unwrap();
        assert_eq!(ServedNetwork::recorded(data.path()).unwrap(), None);
        let demo = ServedNetwork::Demo {
            sandbox_url: "http://127.0.0.1:8081".to_owned(),
        };
        demo.record(data.path()).unwrap();
        assert_eq!(ServedNetwork::recorded(data.path()).unwrap(), Some(demo));
        let runtime = runtime_for(data.path(), None).unwrap();
        assert!(runtime.demo);
        assert!(runtime
            .alma
            .iter()
            .all(|institution| institution.base_url == "http://127.0.0.1:8081"));
    }

    #[test]
    fn without_a_record_or_a_config_the_command_says_what_is_missing() {
        let data = tempfile::tempdir().unwrap();
        let error = runtime_for(data.path(), None).unwrap_err().to_string();
        assert!(error.contains("serve.json"), "{error}");
    }
}
