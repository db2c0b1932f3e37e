//! [`SesMailer`]: the SES v2 adapter of the domain's `Mailer` port, used in AWS
//! mode. One `SendEmail` call per message with `Simple` content: the subject,
//! a text body and an HTML body, all UTF-8 (SES writes the MIME message), plus
//! a `Content-Language` header. Errors carry SES's error code only: its
//! messages may quote the recipient.

use async_trait::async_trait;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageHeader};
use patron_hub_domain::accounts::{Language, Mail, MailError, Mailer};

/// The character set of every part SES is given.
const CHARSET: &str = "UTF-8";

/// Sends mail through Amazon SES v2 from a verified sender identity.
/// Cheap to clone: the client is shared.
#[derive(Clone, Debug)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl SesMailer {
    /// A mailer sending as `from` (e.g. `patron-hub <no-reply@example.org>`,
    /// an identity verified in SES), with a client built once by the caller.
    pub fn new(client: aws_sdk_sesv2::Client, from: String) -> Self {
        Self { client, from }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(
                Destination::builder()
                    .to_addresses(mail.to.as_str())
                    .build(),
            )
            .content(simple_content(mail)?)
            .send()
            .await
            .map(drop)
            .map_err(|error| {
                let detail = describe(&error);
                MailError(format!("SES SendEmail failed: {detail}"))
            })
    }
}

/// The `Simple` content of a mail: SES builds the multipart message.
fn simple_content(mail: &Mail) -> Result<EmailContent, MailError> {
    let utf8 = |data: &str| {
        Content::builder()
            .data(data)
            .charset(CHARSET)
            .build()
            .map_err(|e| MailError(format!("the SES content cannot be built: {e}")))
    };
    let language = match mail.language {
        Language::Fr => "fr",
        Language::En => "en",
    };
    let content_language = MessageHeader::builder()
        .name("Content-Language")
        .value(language)
        .build()
        .map_err(|e| MailError(format!("the SES header cannot be built: {e}")))?;
    let message = Message::builder()
        .subject(utf8(&mail.subject)?)
        .body(
            Body::builder()
                .text(utf8(&mail.text)?)
                .html(utf8(&mail.html)?)
                .build(),
        )
        .headers(content_language)
        .build();
    Ok(EmailContent::builder().simple(message).build())
}

/// SES's error code for a refusal (never its message, which may quote the
/// recipient), the transport failure otherwise.
fn describe<R: std::fmt::Debug>(error: &SdkError<SendEmailError, R>) -> String {
    match error {
        SdkError::ServiceError(_) => error.code().unwrap_or("unknown service error").to_owned(),
        other => DisplayErrorContext(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    //! Against moto (`./scripts/test` starts it and sets `AWS_ENDPOINT_URL`),
    //! reading back what it kept with `patron_hub_mail::ses_sent_messages`.

    use super::*;
    use patron_hub_domain::accounts::Email;
    use patron_hub_mail::{find_link, ses_sent_messages};

    /// moto's endpoint and an SES client on it; fails loudly without moto.
    async fn moto() -> (String, aws_sdk_sesv2::Client) {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
            panic!(
                "AWS_ENDPOINT_URL is not set: the SES mailer tests need moto. Run ./scripts/test, \
                 or start `python3 -m moto.server -H 127.0.0.1 -p 5077` and set \
                 AWS_ENDPOINT_URL=http://127.0.0.1:5077 AWS_ACCESS_KEY_ID=test \
                 AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-1"
            )
        });
        let config = crate::sdk_config_loader().load().await;
        (endpoint, aws_sdk_sesv2::Client::new(&config))
    }

    fn mail(to: &str, subject: &str, text: &str, html: &str, language: Language) -> Mail {
        Mail {
            to: Email::parse(to).unwrap(),
            subject: subject.into(),
            text: text.into(),
            html: html.into(),
            language,
        }
    }

    #[tokio::test]
    async fn sent_mail_is_read_back_from_moto() {
        let (endpoint, client) = moto().await;
        let run = uuid::Uuid::new_v4().simple().to_string();
        let sender = format!("no-reply-{run}@example.org");
        client
            .create_email_identity()
            .email_identity(&sender)
            .send()
            .await
            .expect("verify the sender in moto");
        let mailer = SesMailer::new(client, format!("patron-hub <{sender}>"));
        let link = "http://127.0.0.1:8080/accounts/activate?token=Zx_81-Qp";
        let french = mail(
            &format!("camille-{run}@example.org"),
            "Activez votre compte — Réseau des bibliothèques",
            &format!("Bonjour Zoé,\n{link}\n"),
            &format!(
                "<p>Bonjour Zoé &amp; co,</p><p><a href=\"{link}&amp;lang=fr\">Activer</a></p>"
            ),
            Language::Fr,
        );
        let english = mail(
            &format!("pat-{run}@example.org"),
            "Your password was changed",
            "Hello,\nyour password was changed.\n",
            "<p>Hello, your password was <b>changed</b>.</p>",
            Language::En,
        );
        mailer.send(&french).await.unwrap();
        mailer.send(&english).await.unwrap();

        let sent = ses_sent_messages(&endpoint).await.unwrap();
        let to = |mail: &Mail| {
            let found: Vec<_> = sent.iter().filter(|m| m.to == [mail.to.as_str()]).collect();
            assert_eq!(found.len(), 1, "one message to {}", mail.to);
            found[0].clone()
        };
        let (fr, en) = (to(&french), to(&english));
        assert_eq!(fr.from, format!("patron-hub <{sender}>"));
        assert_eq!(fr.subject, french.subject);
        assert_eq!(fr.body, french.html, "moto keeps the HTML part");
        assert_eq!(
            find_link(&fr.body, "/accounts/activate"),
            Some(format!("{link}&lang=fr"))
        );
        assert_eq!(en.subject, english.subject);
        assert_eq!(en.body, english.html);
    }

    #[tokio::test]
    async fn a_refusal_names_the_code_but_not_the_recipient() {
        let (_, client) = moto().await;
        let run = uuid::Uuid::new_v4().simple().to_string();
        let mailer = SesMailer::new(client, format!("never-verified-{run}@example.org"));
        let recipient = format!("zoe-{run}@example.org");
        let error = mailer
            .send(&mail(&recipient, "s", "t", "<p>t</p>", Language::Fr))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("MessageRejected"), "{error}");
        assert!(!error.contains(&recipient), "{error}");
    }
}
