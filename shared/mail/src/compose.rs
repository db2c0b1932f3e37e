//! The one RFC 5322 message both the outbox and SMTP send: From, To, Subject
//! (RFC 2047 encoded when not ASCII), Date, Message-ID, MIME-Version,
//! Content-Language, and a `multipart/alternative` body with a text/plain and
//! a text/html part in UTF-8 (7bit, quoted-printable or base64, whichever
//! fits each part).

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};
use patron_hub_domain::accounts::{Language, Mail, MailError};
use uuid::Uuid;

/// The `Content-Language` value of a language.
fn language_tag(language: Language) -> &'static str {
    match language {
        Language::Fr => "fr",
        Language::En => "en",
    }
}

/// Builds the message of `mail` sent by `from`. The Message-ID is a fresh
/// uuid at the sender's domain.
pub(crate) fn compose(from: &Mailbox, mail: &Mail) -> Result<Message, MailError> {
    // The recipient is never quoted: it is patron data.
    let to: Address = mail.to.as_str().parse().map_err(|_| {
        MailError("the recipient address cannot be written in a message header".into())
    })?;
    let message_id = format!("<{}@{}>", Uuid::new_v4().simple(), from.email.domain());
    let content_language = HeaderValue::new(
        HeaderName::new_from_ascii_str("Content-Language"),
        language_tag(mail.language).to_owned(),
    );
    Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(mail.subject.as_str())
        .message_id(Some(message_id))
        .raw_header(content_language)
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|e| MailError(format!("the message cannot be built: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use patron_hub_domain::accounts::Email;

    fn mail(subject: &str, language: Language) -> Mail {
        Mail {
            to: Email::parse("camille@example.org").unwrap(),
            subject: subject.into(),
            text: "Bonjour Zoé".into(),
            html: "<p>Bonjour Zoé</p>".into(),
            language,
        }
    }

    fn formatted(mail: &Mail) -> String {
        let from = "patron-hub <no-reply@localhost>".parse().unwrap();
        String::from_utf8(compose(&from, mail).unwrap().formatted()).unwrap()
    }

    #[test]
    fn headers_are_ascii_and_complete() {
        let text = formatted(&mail("Activez votre compte — Réseau", Language::Fr));
        let (headers, _) = text.split_once("\r\n\r\n").unwrap();
        assert!(headers.is_ascii(), "{headers}");
        for name in [
            "From: ",
            "To: ",
            "Subject: ",
            "Date: ",
            "Message-ID: <",
            "MIME-Version: 1.0",
            "Content-Language: fr",
        ] {
            assert!(headers.contains(name), "{name} missing in {headers}");
        }
        let subject = headers
            .lines()
            .find(|l| l.starts_with("Subject: "))
            .unwrap();
        assert!(subject.contains("=?utf-8?"), "RFC 2047 encoded: {subject}");
        assert!(headers.contains("@localhost>"), "{headers}");
        assert!(headers.contains("multipart/alternative"), "{headers}");
        assert!(text.is_ascii(), "non-ASCII bodies are encoded");
    }

    #[test]
    fn english_mails_say_so() {
        let text = formatted(&mail("Activate your account", Language::En));
        assert!(text.contains("Content-Language: en\r\n"), "{text}");
        assert!(
            text.contains("Subject: Activate your account\r\n"),
            "{text}"
        );
    }

    #[test]
    fn every_message_has_its_own_id() {
        let a = formatted(&mail("a", Language::Fr));
        let b = formatted(&mail("a", Language::Fr));
        let id = |t: &str| {
            t.lines()
                .find(|l| l.starts_with("Message-ID:"))
                .unwrap()
                .to_owned()
        };
        assert_ne!(id(&a), id(&b));
    }
}
