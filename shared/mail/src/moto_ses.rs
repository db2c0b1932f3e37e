//! Reading back what moto's SES emulator kept, so that tests in AWS mode
//! follow mailed links as local tests do with the outbox.
//!
//! What moto 5 does (moto/ses/models.py, moto/sesv2/responses.py,
//! moto/moto_api/_internal/): SES v1 `SendEmail` and SES v2 `SendEmail` with
//! `Simple` content append a `Message` model (`id`, `source`, `subject`,
//! `body`, `destinations` with `ToAddresses`/`CcAddresses`/`BccAddresses`) to
//! the SES backend; `Raw` content is kept as a `RawMessage` instead. The server
//! has no SES read-back call, but `GET /moto-api/data.json` dumps every model
//! instance of every service as `{"ses": {"Message": [...], ...}, ...}` in
//! sending order, across all accounts and regions; `POST /moto-api/reset`
//! empties it. Two quirks: for `Simple` content moto keeps ONE body — the HTML
//! part when there is one, else the text part (real SES sends both) — and
//! the sender must first be verified (SES v2 `CreateEmailIdentity` or v1
//! `VerifyEmailIdentity`), or SendEmail fails with `MessageRejected`.
//! Since the dump is shared by everything using that moto, tests pick their
//! messages by recipient.

use serde::Deserialize;
use std::time::Duration;

/// One message moto's SES accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesSentMessage {
    /// The id SendEmail returned.
    pub id: String,
    /// The sender as given to SendEmail.
    pub from: String,
    /// The `To` recipients.
    pub to: Vec<String>,
    /// The subject.
    pub subject: String,
    /// The HTML body when the message had one (moto keeps only one body), else the text body.
    pub body: String,
}

/// moto's state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MotoReadError {
    /// moto did not answer, or not with 200.
    #[error("cannot read {url}: {reason}")]
    Http {
        /// The address asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The answer is not moto's model dump.
    #[error("moto's model dump is not as expected: {0}")]
    Format(String),
}

/// Every message moto's SES accepted (SES v1, or v2 `Simple` content), in
/// sending order, read from the moto server at `endpoint` (the value of
/// `AWS_ENDPOINT_URL`, e.g. `http://127.0.0.1:5077`).
pub async fn ses_sent_messages(endpoint: &str) -> Result<Vec<SesSentMessage>, MotoReadError> {
    let url = format!("{}/moto-api/data.json", endpoint.trim_end_matches('/'));
    let http_error = |reason: String| MotoReadError::Http {
        url: url.clone(),
        reason,
    };
    // moto dumps every model of every service here, field by field: after
    // the DynamoDB contract suite that is megabytes and over a minute.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(240))
        .build()
        .map_err(|e| http_error(e.to_string()))?;
    let response = client
        .get(&url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| http_error(e.to_string()))?;
    let dump = response
        .bytes()
        .await
        .map_err(|e| http_error(e.to_string()))?;
    parse_dump(&dump)
}

/// moto's `/moto-api/data.json`, only the part this reader needs.
#[derive(Deserialize)]
struct ModelDump {
    /// Absent until the SES backend was first used.
    #[serde(default)]
    ses: SesModels,
}

#[derive(Default, Deserialize)]
struct SesModels {
    #[serde(rename = "Message", default)]
    messages: Vec<StoredMessage>,
}

#[derive(Deserialize)]
struct StoredMessage {
    id: String,
    source: String,
    subject: String,
    body: String,
    #[serde(default)]
    destinations: Destinations,
}

#[derive(Default, Deserialize)]
struct Destinations {
    #[serde(rename = "ToAddresses", default)]
    to: Vec<String>,
}

/// The SES messages in a model dump.
fn parse_dump(dump: &[u8]) -> Result<Vec<SesSentMessage>, MotoReadError> {
    let dump: ModelDump =
        serde_json::from_slice(dump).map_err(|e| MotoReadError::Format(e.to_string()))?;
    Ok(dump
        .ses
        .messages
        .into_iter()
        .map(|stored| SesSentMessage {
            id: stored.id,
            from: stored.source,
            to: stored.destinations.to,
            subject: stored.subject,
            body: stored.body,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from a real moto 5.2 answer after two SES v2 SendEmail calls.
    const DUMP: &str = r#"{"core": {}, "ses": {
        "EmailIdentity": [{"email_identity": "no-reply@localhost", "verification_status": "SUCCESS"}],
        "Message": [
          {"body": "<p>\u00e9 &amp; <a href=\"http://x/a?token=1&amp;b=2\">x</a></p>",
           "destinations": {"ToAddresses": ["zo\u00e9@example.org"]},
           "id": "owjchbzuhvmesclr-eygjvqxx", "source": "patron-hub <no-reply@localhost>",
           "subject": "Activez votre compte \u00e9"},
          {"body": "text only", "destinations": {"ToAddresses": ["a@example.org", "b@example.org"], "CcAddresses": []},
           "id": "mcubihtkrnbxetyb", "source": "no-reply@localhost", "subject": "Hello"}],
        "RawMessage": []}}"#;

    #[test]
    fn reads_messages_in_sending_order() {
        let messages = parse_dump(DUMP.as_bytes()).unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].to, ["zoé@example.org"]);
        assert_eq!(messages[0].subject, "Activez votre compte é");
        assert_eq!(messages[0].from, "patron-hub <no-reply@localhost>");
        assert!(messages[0].body.contains("token=1&amp;b=2"));
        assert_eq!(messages[1].id, "mcubihtkrnbxetyb");
        assert_eq!(messages[1].to, ["a@example.org", "b@example.org"]);
    }

    #[test]
    fn no_ses_yet_means_no_message() {
        assert_eq!(
            parse_dump(br#"{"core": {}, "sqs": {"Queue": []}}"#).unwrap(),
            Vec::new()
        );
    }

    #[test]
    fn something_else_is_refused() {
        assert!(matches!(
            parse_dump(b"<html>moto dashboard</html>"),
            Err(MotoReadError::Format(_))
        ));
    }

    #[tokio::test]
    async fn an_unreachable_moto_is_named() {
        // A port just released by the system: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let error = ses_sent_messages(&format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains(&format!("127.0.0.1:{port}/moto-api/data.json")),
            "{error}"
        );
    }
}
