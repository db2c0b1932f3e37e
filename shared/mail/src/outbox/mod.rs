//! The outbox folder: one RFC 5322 `.eml` file per message, named
//! `{unix_micros:020}-{uuid}.eml` so that names sort by sending time (strictly,
//! for one mailer) and never collide (the uuid, across processes). A file
//! appears whole or not at all: it is written under a temporary name beginning
//! with `.` and renamed. Files are readable by their owner only (they hold
//! single-use tokens).

mod reader;
mod writer;

pub use reader::{read_all, OutboxMessage, OutboxReadError};
pub use writer::OutboxMailer;
