//! The outbox written by `OutboxMailer` and read back by `outbox::read_all`,
//! as tests of other crates use them.

use patron_hub_domain::accounts::{Email, Language, Mail, Mailer};
use patron_hub_mail::{find_link, outbox, OutboxMailer};
use std::sync::Arc;

const FROM: &str = "patron-hub <no-reply@localhost>";

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
async fn french_and_english_mails_come_back_as_written() {
    let data = tempfile::tempdir().unwrap();
    let folder = data.path().join("outbox");
    let mailer = OutboxMailer::new(folder.clone(), FROM.into()).unwrap();
    let link = "http://127.0.0.1:8080/accounts/activate?token=q2Xv_9-LmN";
    // Long enough to be wrapped by quoted-printable or base64.
    let french_text = format!(
        "Bonjour Zoé Ørsted,\n\nActivez votre compte à la bibliothèque « Réseau » :\n{link}\n\n{}\n",
        "Ce lien expire dans 72 heures. ".repeat(8)
    );
    let french_html = format!(
        "<p>Bonjour Zoé &amp; co &lt;équipe&gt;,</p>\n<p><a href=\"{link}&amp;lang=fr\">Activer</a></p>"
    );
    let french = mail(
        "camille.l@example.org",
        "Activez votre compte — Réseau des bibliothèques",
        &french_text,
        &french_html,
        Language::Fr,
    );
    let english = mail(
        "pat@example.org",
        "Your password was changed",
        "Hello,\nyour password was changed.\n",
        "<p>Hello,<br>your password was <b>changed</b>.</p>",
        Language::En,
    );
    mailer.send(&french).await.unwrap();
    mailer.send(&english).await.unwrap();

    let messages = outbox::read_all(&folder).unwrap();
    assert_eq!(messages.len(), 2);
    let (fr, en) = (&messages[0], &messages[1]);
    assert_eq!(fr.to, "camille.l@example.org");
    assert_eq!(fr.subject, french.subject);
    assert_eq!(fr.text, french_text);
    assert_eq!(fr.html, french_html, "HTML escaping kept as written");
    assert_eq!(fr.language, Language::Fr);
    assert_eq!(en.to, "pat@example.org");
    assert_eq!(en.subject, english.subject);
    assert_eq!(en.text, english.text);
    assert_eq!(en.html, english.html);
    assert_eq!(en.language, Language::En);
    assert!(fr.path.starts_with(&folder) && fr.path.extension().unwrap() == "eml");

    assert_eq!(
        find_link(&fr.text, "/accounts/activate").as_deref(),
        Some(link)
    );
    assert_eq!(
        find_link(&fr.html, "/accounts/activate"),
        Some(format!("{link}&lang=fr"))
    );

    // The file itself is a plain RFC 5322 message: ASCII headers, UTF-8 parts.
    let raw = std::fs::read_to_string(&fr.path).unwrap();
    let (headers, _) = raw.split_once("\r\n\r\n").unwrap();
    assert!(raw.is_ascii(), "non-ASCII text is encoded");
    assert!(
        headers.contains("From: patron-hub <no-reply@localhost>"),
        "{headers}"
    );
    assert!(
        headers.contains("Content-Type: multipart/alternative"),
        "{headers}"
    );
    assert!(!raw.contains("Ørsted"), "body encoded, not 8bit");
}

#[tokio::test]
async fn files_sort_by_sending_order_and_never_collide() {
    let data = tempfile::tempdir().unwrap();
    let folder = data.path().join("outbox");
    let mailer = OutboxMailer::new(folder.clone(), FROM.into()).unwrap();
    for n in 0..20 {
        let subject = format!("message {n:02}");
        mailer
            .send(&mail(
                "a@example.org",
                &subject,
                "t",
                "<p>t</p>",
                Language::En,
            ))
            .await
            .unwrap();
    }
    let subjects: Vec<String> = outbox::read_all(&folder)
        .unwrap()
        .into_iter()
        .map(|m| m.subject)
        .collect();
    let expected: Vec<String> = (0..20).map(|n| format!("message {n:02}")).collect();
    assert_eq!(subjects, expected);

    // Two mailers on one folder (two processes) sending at once: every
    // message lands in its own file.
    let other = Arc::new(OutboxMailer::new(folder.clone(), FROM.into()).unwrap());
    let mailer = Arc::new(mailer);
    let sends = (0..40).map(|n| {
        let mailer = if n % 2 == 0 {
            mailer.clone()
        } else {
            other.clone()
        };
        tokio::spawn(async move {
            let subject = format!("concurrent {n}");
            mailer
                .send(&mail(
                    "b@example.org",
                    &subject,
                    "t",
                    "<p>t</p>",
                    Language::Fr,
                ))
                .await
        })
    });
    for send in sends.collect::<Vec<_>>() {
        send.await.unwrap().unwrap();
    }
    let all = outbox::read_all(&folder).unwrap();
    assert_eq!(all.len(), 60);
    let files = std::fs::read_dir(&folder).unwrap().count();
    assert_eq!(files, 60, "no temporary file left behind");
}

#[tokio::test]
async fn a_missing_folder_is_created_again() {
    let data = tempfile::tempdir().unwrap();
    let folder = data.path().join("outbox");
    let mailer = OutboxMailer::new(folder.clone(), FROM.into()).unwrap();
    std::fs::remove_dir(&folder).unwrap();
    mailer
        .send(&mail("a@example.org", "s", "t", "<p>t</p>", Language::Fr))
        .await
        .unwrap();
    assert_eq!(outbox::read_all(&folder).unwrap().len(), 1);
}

#[tokio::test]
async fn a_write_failure_names_the_folder_but_not_the_mail() {
    let data = tempfile::tempdir().unwrap();
    let folder = data.path().join("outbox");
    let mailer = OutboxMailer::new(folder.clone(), FROM.into()).unwrap();
    // The folder becomes a file: nothing can be written into it.
    std::fs::remove_dir(&folder).unwrap();
    std::fs::write(&folder, b"not a folder").unwrap();
    let secret = "http://127.0.0.1:8080/password-reset/confirm?token=SECRET";
    let error = mailer
        .send(&mail(
            "zoe@example.org",
            "Réinitialisation",
            secret,
            secret,
            Language::Fr,
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("outbox"), "{error}");
    assert!(
        !error.contains("zoe@") && !error.contains("SECRET"),
        "{error}"
    );
}
