//! The mails of the account flows, in French and English, as plain text and
//! HTML (every value HTML-escaped). Links are built from the configured public
//! base URL, never from a request's Host header. No mail ever carries a password.

use super::{Account, Email, Language, Mail, SecretToken};
use chrono::Duration;

/// The link that activates a self-registered account.
pub fn activation_link(public_base_url: &str, token: &SecretToken) -> String {
    format!(
        "{}/accounts/activate?token={}",
        base(public_base_url),
        token.expose()
    )
}

/// The link that sets a new password (forgotten password, invitation, first administrator).
pub fn password_link(public_base_url: &str, token: &SecretToken) -> String {
    format!(
        "{}/password-reset/confirm?token={}",
        base(public_base_url),
        token.expose()
    )
}

/// The link that confirms a new e-mail address.
pub fn email_confirmation_link(public_base_url: &str, token: &SecretToken) -> String {
    format!(
        "{}/accounts/email-confirmation?token={}",
        base(public_base_url),
        token.expose()
    )
}

fn base(public_base_url: &str) -> &str {
    public_base_url.trim_end_matches('/')
}

/// One of the account mails, with what it needs besides the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountMail {
    /// Confirms a self-registration.
    Activation {
        /// The activation link.
        link: String,
        /// How long the link works.
        valid_for: Duration,
    },
    /// A forgotten password.
    PasswordReset {
        /// The set-password link.
        link: String,
        /// How long the link works.
        valid_for: Duration,
    },
    /// Tells the holder the password changed, in case it was not them.
    PasswordChanged,
    /// An account created by an administrator or an import: welcome and set-password link.
    Invite {
        /// The set-password link.
        link: String,
        /// How long the link works.
        valid_for: Duration,
    },
    /// An account created by an administrator who set its password (never included).
    Welcome,
    /// Confirms a new address; sent to that address.
    EmailChange {
        /// The confirmation link.
        link: String,
        /// How long the link works.
        valid_for: Duration,
    },
    /// Someone tried to register (or move an account) to an address that
    /// already has an account: sent instead of an error, so that the answer
    /// does not reveal which addresses have accounts.
    AddressInUse,
}

impl AccountMail {
    /// The mail to `to` about `account`, in the account's language. `public_base_url`
    /// gives the login page mentioned in the mails without a token link.
    pub fn render(&self, account: &Account, to: &Email, public_base_url: &str) -> Mail {
        let language = account.language;
        let words = Words {
            first_name: account.first_name.as_str(),
            user_name: account.user_name.as_str(),
            home: base(public_base_url),
            language,
        };
        let (subject, paragraphs, link) = match (self, language) {
            (Self::Activation { link, valid_for }, Language::Fr) => (
                "Activez votre compte patron-hub",
                vec![
                    "Votre compte patron-hub a été créé. Pour l'activer, ouvrez ce lien :".to_owned(),
                    words.validity(*valid_for),
                    "Si vous n'avez pas demandé de compte, ignorez ce message : sans activation, le compte reste inutilisable.".to_owned(),
                ],
                Some(link),
            ),
            (Self::Activation { link, valid_for }, Language::En) => (
                "Activate your patron-hub account",
                vec![
                    "Your patron-hub account was created. To activate it, open this link:".to_owned(),
                    words.validity(*valid_for),
                    "If you did not ask for an account, ignore this message: without activation the account cannot be used.".to_owned(),
                ],
                Some(link),
            ),
            (Self::PasswordReset { link, valid_for }, Language::Fr) => (
                "Réinitialisation de votre mot de passe patron-hub",
                vec![
                    format!("Une réinitialisation du mot de passe du compte {} a été demandée. Pour choisir un nouveau mot de passe, ouvrez ce lien :", words.user_name),
                    words.validity(*valid_for),
                    "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe reste inchangé.".to_owned(),
                ],
                Some(link),
            ),
            (Self::PasswordReset { link, valid_for }, Language::En) => (
                "Reset your patron-hub password",
                vec![
                    format!("Someone asked to reset the password of the account {}. To choose a new password, open this link:", words.user_name),
                    words.validity(*valid_for),
                    "If it was not you, ignore this message: your password stays as it is.".to_owned(),
                ],
                Some(link),
            ),
            (Self::PasswordChanged, Language::Fr) => (
                "Votre mot de passe patron-hub a été modifié",
                vec![
                    format!("Le mot de passe du compte {} vient d'être modifié.", words.user_name),
                    format!("Si ce n'est pas vous, demandez immédiatement un nouveau mot de passe depuis {} et prévenez votre administrateur.", words.home),
                ],
                None,
            ),
            (Self::PasswordChanged, Language::En) => (
                "Your patron-hub password was changed",
                vec![
                    format!("The password of the account {} was just changed.", words.user_name),
                    format!("If it was not you, ask for a new password at once from {} and tell your administrator.", words.home),
                ],
                None,
            ),
            (Self::Invite { link, valid_for }, Language::Fr) => (
                "Bienvenue sur patron-hub : choisissez votre mot de passe",
                vec![
                    format!("Un compte patron-hub a été créé pour vous, avec le nom d'utilisateur {}. Pour choisir votre mot de passe, ouvrez ce lien :", words.user_name),
                    words.validity(*valid_for),
                ],
                Some(link),
            ),
            (Self::Invite { link, valid_for }, Language::En) => (
                "Welcome to patron-hub: choose your password",
                vec![
                    format!("A patron-hub account was created for you, with the user name {}. To choose your password, open this link:", words.user_name),
                    words.validity(*valid_for),
                ],
                Some(link),
            ),
            (Self::Welcome, Language::Fr) => (
                "Bienvenue sur patron-hub",
                vec![
                    format!("Un compte patron-hub a été créé pour vous. Votre nom d'utilisateur est {}.", words.user_name),
                    format!("Connectez-vous sur {} avec le mot de passe que votre administrateur vous a communiqué.", words.home),
                ],
                None,
            ),
            (Self::Welcome, Language::En) => (
                "Welcome to patron-hub",
                vec![
                    format!("A patron-hub account was created for you. Your user name is {}.", words.user_name),
                    format!("Log in at {} with the password your administrator gave you.", words.home),
                ],
                None,
            ),
            (Self::EmailChange { link, valid_for }, Language::Fr) => (
                "Confirmez votre nouvelle adresse e-mail patron-hub",
                vec![
                    format!("Le compte patron-hub {} demande à utiliser cette adresse. Pour la confirmer, ouvrez ce lien :", words.user_name),
                    words.validity(*valid_for),
                    "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.".to_owned(),
                ],
                Some(link),
            ),
            (Self::EmailChange { link, valid_for }, Language::En) => (
                "Confirm your new patron-hub e-mail address",
                vec![
                    format!("The patron-hub account {} asked to use this address. To confirm it, open this link:", words.user_name),
                    words.validity(*valid_for),
                    "If you did not ask for this, ignore this message.".to_owned(),
                ],
                Some(link),
            ),
            (Self::AddressInUse, Language::Fr) => (
                "Votre adresse a déjà un compte patron-hub",
                vec![
                    format!("Quelqu'un a tenté de créer un compte patron-hub, ou d'y rattacher cette adresse, alors qu'elle appartient déjà au compte {}.", words.user_name),
                    format!("Si c'était vous, connectez-vous sur {} ; en cas d'oubli, demandez-y un nouveau mot de passe. Sinon, ignorez ce message.", words.home),
                ],
                None,
            ),
            (Self::AddressInUse, Language::En) => (
                "Your address already has a patron-hub account",
                vec![
                    format!("Someone tried to create a patron-hub account, or to move one to this address, but it already belongs to the account {}.", words.user_name),
                    format!("If it was you, log in at {}; if you forgot your password, ask for a new one there. Otherwise ignore this message.", words.home),
                ],
                None,
            ),
        };
        Mail {
            to: to.clone(),
            subject: subject.to_owned(),
            text: words.text(&paragraphs, link.map(String::as_str)),
            html: words.html(subject, &paragraphs, link.map(String::as_str)),
            language,
        }
    }
}

/// What every mail says around its paragraphs.
struct Words<'a> {
    first_name: &'a str,
    user_name: &'a str,
    home: &'a str,
    language: Language,
}

impl Words<'_> {
    fn greeting(&self) -> String {
        match self.language {
            Language::Fr => format!("Bonjour {},", self.first_name),
            Language::En => format!("Hello {},", self.first_name),
        }
    }

    fn signature(&self) -> &'static str {
        match self.language {
            Language::Fr => "— patron-hub (message automatique, merci de ne pas y répondre)",
            Language::En => "— patron-hub (automatic message, please do not reply)",
        }
    }

    fn validity(&self, valid_for: Duration) -> String {
        let minutes = valid_for.num_minutes().max(1);
        let (amount, fr, en) = if minutes % 60 == 0 {
            (minutes / 60, "heure", "hour")
        } else {
            (minutes, "minute", "minute")
        };
        let plural = if amount > 1 { "s" } else { "" };
        match self.language {
            Language::Fr => {
                format!("Ce lien ne sert qu'une fois et expire dans {amount} {fr}{plural}.")
            }
            Language::En => format!("This link works once and expires in {amount} {en}{plural}."),
        }
    }

    /// The plain-text body: greeting, paragraphs, the link on a line of its own
    /// right after the first paragraph, signature.
    fn text(&self, paragraphs: &[String], link: Option<&str>) -> String {
        let mut blocks = vec![self.greeting()];
        for (index, paragraph) in paragraphs.iter().enumerate() {
            blocks.push(paragraph.clone());
            if let (0, Some(link)) = (index, link) {
                blocks.push(link.to_owned());
            }
        }
        blocks.push(self.signature().to_owned());
        blocks.join("\n\n") + "\n"
    }

    /// The HTML body: the same content, every value escaped.
    fn html(&self, subject: &str, paragraphs: &[String], link: Option<&str>) -> String {
        let lang = match self.language {
            Language::Fr => "fr",
            Language::En => "en",
        };
        let mut body = format!("<p>{}</p>\n", escape(&self.greeting()));
        for (index, paragraph) in paragraphs.iter().enumerate() {
            body.push_str(&format!("<p>{}</p>\n", escape(paragraph)));
            if let (0, Some(link)) = (index, link) {
                let link = escape(link);
                body.push_str(&format!("<p><a href=\"{link}\">{link}</a></p>\n"));
            }
        }
        body.push_str(&format!("<p>{}</p>\n", escape(self.signature())));
        format!(
            "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{body}</body>\n</html>\n",
            escape(subject)
        )
    }
}

/// `text` with the characters that mean something in HTML replaced by entities.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{AccountId, AccountState, PersonName, UserName};
    use chrono::Utc;

    const BASE: &str = "https://patrons.example.org/";

    fn account(language: Language) -> Account {
        Account {
            id: AccountId::new(),
            user_name: UserName::parse("c.lefebvre").unwrap(),
            email: Email::parse("camille@example.org").unwrap(),
            first_name: PersonName::parse("first_name", "Camille <b>&</b> \"Zoé\"").unwrap(),
            last_name: PersonName::parse("last_name", "Lefebvre").unwrap(),
            department: None,
            department_roles: vec![],
            paid: false,
            state: AccountState::Active,
            expires_on: None,
            network_roles: Default::default(),
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
            language,
            created_at: Utc::now(),
            last_seen_at: None,
            password_changed_at: None,
            version: 1,
        }
    }

    fn every_mail(token: &SecretToken) -> Vec<AccountMail> {
        let valid_for = Duration::minutes(30);
        vec![
            AccountMail::Activation {
                link: activation_link(BASE, token),
                valid_for: Duration::hours(72),
            },
            AccountMail::PasswordReset {
                link: password_link(BASE, token),
                valid_for,
            },
            AccountMail::PasswordChanged,
            AccountMail::Invite {
                link: password_link(BASE, token),
                valid_for: Duration::hours(72),
            },
            AccountMail::Welcome,
            AccountMail::EmailChange {
                link: email_confirmation_link(BASE, token),
                valid_for,
            },
            AccountMail::AddressInUse,
        ]
    }

    #[test]
    fn links_come_from_the_base_url_and_carry_the_token() {
        let token = SecretToken::presented("abc-_123");
        assert_eq!(
            activation_link(BASE, &token),
            "https://patrons.example.org/accounts/activate?token=abc-_123"
        );
        assert_eq!(
            password_link("http://127.0.0.1:8080", &token),
            "http://127.0.0.1:8080/password-reset/confirm?token=abc-_123"
        );
        assert_eq!(
            email_confirmation_link(BASE, &token),
            "https://patrons.example.org/accounts/email-confirmation?token=abc-_123"
        );
    }

    #[test]
    fn link_mails_carry_their_link_in_both_bodies() {
        let token = SecretToken::generate();
        for language in [Language::Fr, Language::En] {
            for mail in every_mail(&token) {
                let rendered = mail.render(
                    &account(language),
                    &Email::parse("new@example.org").unwrap(),
                    BASE,
                );
                assert_eq!(rendered.to.as_str(), "new@example.org");
                assert_eq!(rendered.language, language);
                let link = match &mail {
                    AccountMail::Activation { link, .. }
                    | AccountMail::PasswordReset { link, .. }
                    | AccountMail::Invite { link, .. }
                    | AccountMail::EmailChange { link, .. } => Some(link),
                    _ => None,
                };
                match link {
                    Some(link) => {
                        assert!(
                            rendered.text.contains(&format!("\n{link}\n")),
                            "{mail:?} {language:?}"
                        );
                        assert!(
                            rendered.html.contains(&format!("href=\"{link}\"")),
                            "{mail:?} {language:?}"
                        );
                    }
                    None => assert!(!rendered.text.contains(token.expose()), "{mail:?}"),
                }
            }
        }
    }

    #[test]
    fn mails_are_in_the_accounts_language() {
        let token = SecretToken::generate();
        for mail in every_mail(&token) {
            let fr = mail.render(
                &account(Language::Fr),
                &Email::parse("a@example.org").unwrap(),
                BASE,
            );
            let en = mail.render(
                &account(Language::En),
                &Email::parse("a@example.org").unwrap(),
                BASE,
            );
            assert!(fr.text.starts_with("Bonjour "), "{mail:?}");
            assert!(en.text.starts_with("Hello "), "{mail:?}");
            assert!(fr.html.contains("<html lang=\"fr\">"));
            assert!(en.html.contains("<html lang=\"en\">"));
            assert_ne!(fr.subject, en.subject);
        }
    }

    #[test]
    fn values_are_escaped_in_html_and_plain_in_text() {
        let mail = AccountMail::Welcome.render(
            &account(Language::En),
            &Email::parse("a@example.org").unwrap(),
            BASE,
        );
        assert!(
            mail.html
                .contains("Camille &lt;b&gt;&amp;&lt;/b&gt; &quot;Zoé&quot;"),
            "{}",
            mail.html
        );
        assert!(!mail.html.contains("<b>"));
        assert!(mail.text.contains("Hello Camille <b>&</b> \"Zoé\","));
    }

    #[test]
    fn no_mail_carries_a_password_or_its_hash() {
        let token = SecretToken::generate();
        let account = account(Language::Fr);
        let hash = account.password_hash.clone().unwrap();
        for mail in every_mail(&token) {
            let rendered = mail.render(&account, &account.email, BASE);
            for body in [&rendered.text, &rendered.html, &rendered.subject] {
                assert!(!body.contains(&hash));
                assert!(!body.contains("$argon2"));
            }
        }
    }

    #[test]
    fn validity_is_said_in_minutes_or_hours() {
        let mail = AccountMail::PasswordReset {
            link: "https://x.example/l".into(),
            valid_for: Duration::minutes(30),
        };
        assert!(mail
            .render(
                &account(Language::En),
                &Email::parse("a@example.org").unwrap(),
                BASE
            )
            .text
            .contains("expires in 30 minutes"));
        let mail = AccountMail::Activation {
            link: "https://x.example/l".into(),
            valid_for: Duration::hours(72),
        };
        assert!(mail
            .render(
                &account(Language::Fr),
                &Email::parse("a@example.org").unwrap(),
                BASE
            )
            .text
            .contains("expire dans 72 heures"));
    }
}
