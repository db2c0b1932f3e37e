//! Reading the outbox back: what tests of other crates use to follow the
//! links patron-hub mailed.

use mail_parser::{MessageParser, MessagePart};
use patron_hub_domain::accounts::Language;
use std::path::{Path, PathBuf};

/// One message of the outbox, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The recipient's address.
    pub to: String,
    /// The subject, decoded from RFC 2047.
    pub subject: String,
    /// The text/plain part, decoded, with `\n` line ends as the domain wrote it.
    pub text: String,
    /// The text/html part, decoded likewise (still HTML: entities stay escaped).
    pub html: String,
    /// The `Content-Language` of the message.
    pub language: Language,
    /// The `.eml` file it was read from.
    pub path: PathBuf,
}

/// The outbox could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum OutboxReadError {
    /// The folder or a file cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// A file is not a message as the outbox writes them.
    #[error("{path} is not an outbox message: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        reason: &'static str,
    },
}

/// Every message in `folder`, oldest first (by file name); an absent folder
/// holds none. Files not ending in `.eml` (a write in progress) are skipped.
pub fn read_all(folder: impl AsRef<Path>) -> Result<Vec<OutboxMessage>, OutboxReadError> {
    let folder = folder.as_ref();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OutboxReadError::Io { path, source }
    };
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(folder)(e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(io(folder))?.path();
        if path.extension().is_some_and(|ext| ext == "eml") {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            parse(&bytes)
                .map_err(|reason| OutboxReadError::Malformed {
                    path: path.clone(),
                    reason,
                })
                .map(|parsed| parsed.at(path))
        })
        .collect()
}

/// A message's decoded fields, before its path is known.
struct Parsed {
    to: String,
    subject: String,
    text: String,
    html: String,
    language: Language,
}

impl Parsed {
    fn at(self, path: PathBuf) -> OutboxMessage {
        OutboxMessage {
            to: self.to,
            subject: self.subject,
            text: self.text,
            html: self.html,
            language: self.language,
            path,
        }
    }
}

/// Decodes a message as the outbox writes it: one recipient, a subject, a
/// language, one text/plain and one text/html part.
fn parse(bytes: &[u8]) -> Result<Parsed, &'static str> {
    let message = MessageParser::default()
        .parse(bytes)
        .ok_or("not a MIME message")?;
    let to = message
        .to()
        .and_then(|to| to.first())
        .and_then(|addr| addr.address())
        .ok_or("no To address")?;
    let subject = message.subject().ok_or("no Subject")?;
    let language = match message.header_raw("Content-Language").map(str::trim) {
        Some("fr") => Language::Fr,
        Some("en") => Language::En,
        _ => return Err("no Content-Language fr or en"),
    };
    let part = |wanted_html: bool| {
        message
            .parts
            .iter()
            .find(|part| part.is_text() && part.is_text_html() == wanted_html)
            .filter(|part| !part.is_encoding_problem)
            .and_then(MessagePart::text_contents)
            .map(|contents| contents.replace("\r\n", "\n"))
    };
    Ok(Parsed {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: part(false).ok_or("no readable text/plain part")?,
        html: part(true).ok_or("no readable text/html part")?,
        language,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_the_outbox_does_not_write() {
        let without_language = b"To: a@example.org\r\nSubject: s\r\n\r\nbody\r\n";
        assert_eq!(
            parse(without_language).err(),
            Some("no Content-Language fr or en")
        );
        let without_html = b"To: a@example.org\r\nSubject: s\r\nContent-Language: en\r\n\
            Content-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n";
        assert_eq!(
            parse(without_html).err(),
            Some("no readable text/html part")
        );
        let without_to = b"Subject: s\r\nContent-Language: en\r\n\r\nbody\r\n";
        assert_eq!(parse(without_to).err(), Some("no To address"));
    }

    #[test]
    fn an_absent_folder_holds_no_message() {
        let folder = tempfile::tempdir().unwrap();
        assert_eq!(
            read_all(folder.path().join("never-created")).unwrap(),
            Vec::new()
        );
    }

    #[test]
    fn a_foreign_file_is_reported_by_name() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("x.eml"), b"Subject: s\r\n\r\nbody").unwrap();
        std::fs::write(folder.path().join(".half.tmp"), b"To: a").unwrap();
        let error = read_all(folder.path()).unwrap_err();
        assert!(error.to_string().contains("x.eml"), "{error}");
    }
}
