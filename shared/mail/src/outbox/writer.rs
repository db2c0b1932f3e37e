//! [`OutboxMailer`]: the local mailer, writing `.eml` files a person or a test
//! can open.

use crate::compose::compose;
use crate::config::{parse_sender, ConfigError};
use async_trait::async_trait;
use lettre::message::Mailbox;
use patron_hub_domain::accounts::{Mail, MailError, Mailer};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// Writes every message into a folder instead of sending it: the default of
/// `patron-hub serve`, so that a demo or a test reads the activation and reset
/// links without a mail server.
#[derive(Debug)]
pub struct OutboxMailer {
    folder: PathBuf,
    from: Mailbox,
    /// The time stamp of the last file name given, so that the next is later.
    last_micros: AtomicU64,
}

impl OutboxMailer {
    /// A mailer writing into `folder` (created if missing) as `from`, e.g.
    /// `patron-hub <no-reply@localhost>`.
    pub fn new(folder: PathBuf, from: String) -> Result<Self, ConfigError> {
        let from = parse_sender(&from)?;
        std::fs::create_dir_all(&folder).map_err(|source| ConfigError::Outbox {
            folder: folder.display().to_string(),
            source,
        })?;
        Ok(Self {
            folder,
            from,
            last_micros: AtomicU64::new(0),
        })
    }

    /// The folder the messages are written into.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// A file name later than every one this mailer gave before.
    fn next_file_name(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
            });
        let later = |last: u64| now.max(last.saturating_add(1));
        let last = self
            .last_micros
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(later(last)))
            .unwrap_or_else(|last| last);
        format!("{:020}-{}.eml", later(last), Uuid::new_v4().simple())
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = compose(&self.from, mail)?.formatted();
        let folder = self.folder.clone();
        let name = self.next_file_name();
        let written = tokio::task::spawn_blocking(move || write_whole(&folder, &name, &message))
            .await
            .map_err(|e| MailError(format!("the outbox writer stopped: {e}")))?;
        written.map_err(|e| {
            MailError(format!(
                "cannot write into the outbox {}: {e}",
                self.folder.display()
            ))
        })
    }
}

/// Writes `bytes` as `folder/name` so that a reader never sees part of it:
/// a hidden temporary file in the same folder, flushed to disk, then renamed
/// (refusing to replace an existing file).
fn write_whole(folder: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)?;
    let mut file = tempfile::Builder::new()
        .prefix(".")
        .suffix(".tmp")
        .tempfile_in(folder)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist_noclobber(folder.join(name))
        .map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time_even_within_one_microsecond() {
        let folder = tempfile::tempdir().unwrap();
        let mailer = OutboxMailer::new(
            folder.path().join("outbox"),
            "patron-hub <no-reply@localhost>".into(),
        )
        .unwrap();
        let names: Vec<String> = (0..1000).map(|_| mailer.next_file_name()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "names sort in the order they were given");
        sorted.dedup();
        assert_eq!(sorted.len(), 1000, "no two names alike");
        let stamps: Vec<&str> = names.iter().map(|n| n.split('-').next().unwrap()).collect();
        assert!(
            stamps.windows(2).all(|w| w[0] < w[1]),
            "strictly increasing time stamps"
        );
        assert!(names
            .iter()
            .all(|n| n.len() == 20 + 1 + 32 + 4 && n.ends_with(".eml")));
    }

    #[test]
    fn new_creates_the_folder_and_refuses_a_bad_sender() {
        let folder = tempfile::tempdir().unwrap();
        let outbox = folder.path().join("data").join("outbox");
        let mailer = OutboxMailer::new(outbox.clone(), "no-reply@localhost".into()).unwrap();
        assert!(outbox.is_dir());
        assert_eq!(mailer.folder(), outbox);
        assert!(matches!(
            OutboxMailer::new(outbox, "patron-hub".into()),
            Err(ConfigError::Sender(_))
        ));
    }

    #[test]
    fn a_file_is_never_replaced() {
        let folder = tempfile::tempdir().unwrap();
        write_whole(folder.path(), "a.eml", b"first").unwrap();
        assert!(write_whole(folder.path(), "a.eml", b"second").is_err());
        assert_eq!(
            std::fs::read(folder.path().join("a.eml")).unwrap(),
            b"first"
        );
        let left: Vec<_> = std::fs::read_dir(folder.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
    }
}
