//! [`SmtpMailer`]: hands messages to an SMTP relay over TLS or STARTTLS
//! (rustls, Mozilla's roots), with optional credentials.

use crate::compose::compose;
use crate::config::{parse_sender, ConfigError};
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::{AsyncSmtpTransportBuilder, Error as SmtpError};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use patron_hub_domain::accounts::{Mail, MailError, Mailer};
use std::fmt;

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the first byte (implicit TLS, port 465 by default).
    Tls,
    /// Plain connection upgraded by STARTTLS, which is required (port 587 by default).
    StartTls,
    /// No encryption at all (port 25 by default): only for a relay on the
    /// same host or a test's sink, never across a network.
    Plain,
}

impl SmtpSecurity {
    /// The conventional port of each kind of connection.
    fn default_port(self) -> u16 {
        match self {
            Self::Tls => 465,
            Self::StartTls => 587,
            Self::Plain => 25,
        }
    }
}

/// A relay account; the caller reads it from its environment. Its `Debug`
/// never shows the password.
#[derive(Clone)]
pub struct SmtpCredentials {
    /// The account name.
    pub user: String,
    /// The account's password.
    pub password: String,
}

impl fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCredentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Where and how to reach the relay.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// The relay's host name (checked against its TLS certificate).
    pub host: String,
    /// The relay's port; `None` for the usual port of `security`.
    pub port: Option<u16>,
    /// How the connection is protected.
    pub security: SmtpSecurity,
    /// The account to log in with, if the relay needs one.
    pub credentials: Option<SmtpCredentials>,
    /// The sender, e.g. `patron-hub <no-reply@example.org>`.
    pub from: String,
}

/// Sends mail through an SMTP relay (a campus relay, or any provider's SMTP
/// endpoint). One connection per message, so that it needs no background task
/// and may be built and dropped outside an async runtime.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for the relay of `settings`; connects only when it sends.
    pub fn new(settings: SmtpSettings) -> Result<Self, ConfigError> {
        let from = parse_sender(&settings.from)?;
        let relay_error = |e: SmtpError| ConfigError::Relay {
            host: settings.host.clone(),
            reason: e.to_string(),
        };
        let builder: AsyncSmtpTransportBuilder = match settings.security {
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host).map_err(relay_error)?
            }
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                    .map_err(relay_error)?
            }
            SmtpSecurity::Plain => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.as_str())
            }
        };
        let builder = builder.port(settings.port.unwrap_or(settings.security.default_port()));
        let builder = match settings.credentials {
            Some(account) => builder.credentials(Credentials::new(account.user, account.password)),
            None => builder,
        };
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = compose(&self.from, mail)?;
        self.transport.send(message).await.map(drop).map_err(|e| {
            let detail = describe(&e);
            MailError(format!("the SMTP relay did not take the message: {detail}"))
        })
    }
}

/// What went wrong, without the relay's reply text (which may quote the
/// recipient): its code for a refusal, the failure otherwise.
fn describe(error: &SmtpError) -> String {
    let kind = if error.is_permanent() {
        "permanent refusal"
    } else if error.is_transient() {
        "temporary refusal"
    } else if error.is_response() {
        "unexpected reply"
    } else {
        return error.to_string();
    };
    match error.status() {
        Some(code) => format!("{kind} (code {code})"),
        None => kind.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_never_printed() {
        let settings = SmtpSettings {
            host: "smtp.example.org".into(),
            port: None,
            security: SmtpSecurity::StartTls,
            credentials: Some(SmtpCredentials {
                user: "patron-hub".into(),
                password: "s3cret-relay-password".into(),
            }),
            from: "patron-hub <no-reply@example.org>".into(),
        };
        assert!(!format!("{settings:?}").contains("s3cret"));
        let mailer = SmtpMailer::new(settings).unwrap();
        assert!(!format!("{mailer:?}").contains("s3cret"));
    }

    #[test]
    fn a_bad_sender_is_found_at_start_up() {
        let settings = SmtpSettings {
            host: "smtp.example.org".into(),
            port: None,
            security: SmtpSecurity::Tls,
            credentials: None,
            from: "not a mailbox".into(),
        };
        assert!(matches!(
            SmtpMailer::new(settings),
            Err(ConfigError::Sender(_))
        ));
    }
}
