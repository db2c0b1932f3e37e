//! The mailer adapters that run without AWS: [`OutboxMailer`] writes one
//! `.eml` file per message into a folder (the local default, `outbox/` in the
//! data folder), [`SmtpMailer`] hands messages to an SMTP relay. Both build the
//! same message: `multipart/alternative` with a UTF-8 text part and a UTF-8
//! HTML part, `Content-Language` from the recipient's language. (The SES
//! adapter lives with the other AWS adapters in `patron-hub-store-aws`.)
//!
//! It also owns the readers tests use to follow mailed links:
//! [`outbox::read_all`] parses what the outbox holds, [`ses_sent_messages`]
//! reads what an SES emulator (moto) kept, and [`find_link`] pulls a link out
//! of a body.
//!
//! It must never render a mail (the domain's templates do), decide who gets
//! one, or put a recipient, a subject, a body, a token or a password in an
//! error or a log line.

mod compose;
mod config;
mod link;
mod moto_ses;
pub mod outbox;
mod smtp;

pub use config::ConfigError;
pub use link::find_link;
pub use moto_ses::{ses_sent_messages, MotoReadError, SesSentMessage};
pub use outbox::OutboxMailer;
pub use smtp::{SmtpCredentials, SmtpMailer, SmtpSecurity, SmtpSettings};
