//! Why a mailer could not be built from its configuration (found at start-up,
//! not at the first mail).

use lettre::message::Mailbox;

/// A mailer's configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The sender is not a mailbox such as `patron-hub <no-reply@example.org>`.
    #[error("the sender {0:?} is not a valid mailbox (expected e.g. \"patron-hub <no-reply@example.org>\")")]
    Sender(String),
    /// The outbox folder cannot be created.
    #[error("the outbox folder {folder} cannot be created: {source}")]
    Outbox {
        /// The folder.
        folder: String,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The SMTP relay's TLS settings cannot be built.
    #[error("the SMTP relay {host} cannot be used: {reason}")]
    Relay {
        /// The relay's host name.
        host: String,
        /// What lettre said.
        reason: String,
    },
}

/// Parses the configured sender once, at start-up.
pub(crate) fn parse_sender(from: &str) -> Result<Mailbox, ConfigError> {
    from.parse()
        .map_err(|_| ConfigError::Sender(from.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_needs_an_address() {
        let sender = parse_sender("patron-hub <no-reply@localhost>").unwrap();
        assert_eq!(sender.email.to_string(), "no-reply@localhost");
        assert_eq!(sender.name.as_deref(), Some("patron-hub"));
        for bad in ["", "patron-hub", "patron-hub <>", "no-reply@"] {
            assert!(
                matches!(parse_sender(bad), Err(ConfigError::Sender(_))),
                "{bad}"
            );
        }
    }
}
