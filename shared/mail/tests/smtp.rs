//! `SmtpMailer` against a tiny SMTP sink on loopback that captures what it is
//! given (plain SMTP: the TLS modes differ only in lettre's connection setup).

use base64::Engine;
use mail_parser::MessageParser;
use patron_hub_domain::accounts::{Email, Language, Mail, Mailer};
use patron_hub_mail::{find_link, SmtpCredentials, SmtpMailer, SmtpSecurity, SmtpSettings};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// One message as the sink received it.
#[derive(Debug, Default)]
struct Captured {
    auth: Option<String>,
    mail_from: String,
    rcpt_to: Vec<String>,
    data: String,
}

/// Starts a sink answering `rcpt_reply` to RCPT; returns its port and the
/// messages it accepts.
async fn start_sink(rcpt_reply: &'static str) -> (u16, mpsc::UnboundedReceiver<Captured>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (captured, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(session(stream, captured.clone(), rcpt_reply));
        }
    });
    (port, received)
}

/// Speaks just enough SMTP: 220, EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT.
async fn session(
    stream: TcpStream,
    captured: mpsc::UnboundedSender<Captured>,
    rcpt_reply: &'static str,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut current = Captured::default();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end();
        let upper = command.to_ascii_uppercase();
        let reply: &str = if upper.starts_with("EHLO") {
            "250-sink\r\n250 AUTH PLAIN\r\n"
        } else if let Some(initial) = command.strip_prefix("AUTH PLAIN ") {
            current.auth = Some(initial.to_owned());
            "235 2.7.0 accepted\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            current.mail_from = command[10..].to_owned();
            "250 2.1.0 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            current.rcpt_to.push(command[8..].to_owned());
            rcpt_reply
        } else if upper == "DATA" {
            write.write_all(b"354 end with .\r\n").await?;
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                // Undo the client's dot-stuffing.
                let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                current.data.push_str(unstuffed);
            }
            let _ = captured.send(std::mem::take(&mut current));
            "250 2.0.0 queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            "250 ok\r\n"
        };
        write.write_all(reply.as_bytes()).await?;
    }
}

fn settings(port: u16, credentials: Option<SmtpCredentials>) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port: Some(port),
        security: SmtpSecurity::Plain,
        credentials,
        from: "patron-hub <no-reply@localhost>".into(),
    }
}

fn activation_mail(to: &str) -> Mail {
    Mail {
        to: Email::parse(to).unwrap(),
        subject: "Activez votre compte — Réseau".into(),
        text: "Bonjour Zoé,\nhttp://127.0.0.1:8080/accounts/activate?token=Zx_81\n".into(),
        html: "<p>Bonjour Zoé &amp; co,</p><p><a href=\"http://127.0.0.1:8080/accounts/activate?token=Zx_81\">Activer</a></p>"
            .into(),
        language: Language::Fr,
    }
}

async fn next(received: &mut mpsc::UnboundedReceiver<Captured>) -> Captured {
    tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .expect("the sink received a message in time")
        .expect("the sink is running")
}

#[tokio::test]
async fn the_relay_gets_the_multipart_message() {
    let (port, mut received) = start_sink("250 2.1.5 ok\r\n").await;
    let credentials = SmtpCredentials {
        user: "patron-hub".into(),
        password: "relay-password".into(),
    };
    let mailer = SmtpMailer::new(settings(port, Some(credentials))).unwrap();
    let mail = activation_mail("camille@example.org");
    mailer.send(&mail).await.unwrap();

    let captured = next(&mut received).await;
    let auth = base64::engine::general_purpose::STANDARD
        .decode(captured.auth.as_deref().expect("the mailer logged in"))
        .unwrap();
    assert_eq!(auth, b"\0patron-hub\0relay-password");
    assert_eq!(captured.mail_from.trim(), "<no-reply@localhost>");
    assert_eq!(captured.rcpt_to, ["<camille@example.org>"]);

    let message = MessageParser::default()
        .parse(captured.data.as_bytes())
        .unwrap();
    assert_eq!(message.subject(), Some(mail.subject.as_str()));
    assert_eq!(
        message.header_raw("Content-Language").map(str::trim),
        Some("fr")
    );
    assert!(message
        .message_id()
        .is_some_and(|id| id.ends_with("@localhost")));
    let text = message.body_text(0).unwrap().replace("\r\n", "\n");
    let html = message.body_html(0).unwrap().replace("\r\n", "\n");
    assert_eq!(text, mail.text);
    assert_eq!(html, mail.html);
    assert_eq!(
        find_link(&text, "/accounts/activate").as_deref(),
        Some("http://127.0.0.1:8080/accounts/activate?token=Zx_81")
    );

    // A second message goes through the same mailer.
    let english = Mail {
        subject: "Activate your account".into(),
        language: Language::En,
        ..activation_mail("pat@example.org")
    };
    mailer.send(&english).await.unwrap();
    let captured = next(&mut received).await;
    assert_eq!(captured.rcpt_to, ["<pat@example.org>"]);
    let message = MessageParser::default()
        .parse(captured.data.as_bytes())
        .unwrap();
    assert_eq!(message.subject(), Some("Activate your account"));
    assert_eq!(
        message.header_raw("Content-Language").map(str::trim),
        Some("en")
    );
}

#[tokio::test]
async fn a_refusal_is_reported_without_the_recipient() {
    let (port, _received) = start_sink("550 5.1.1 <zoe@example.org>: no such user\r\n").await;
    let mailer = SmtpMailer::new(settings(port, None)).unwrap();
    let error = mailer
        .send(&activation_mail("zoe@example.org"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("permanent") && error.contains("550"),
        "{error}"
    );
    assert!(!error.contains("zoe@"), "{error}");
}

#[tokio::test]
async fn an_unreachable_relay_is_an_error() {
    // A port just released by the system: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer = SmtpMailer::new(settings(port, None)).unwrap();
    let error = mailer
        .send(&activation_mail("zoe@example.org"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("SMTP relay"), "{error}");
}
