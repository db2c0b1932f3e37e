//! The words of the account link pages, in French (the default) and English,
//! including why a new password was refused.

use crate::console::i18n::{Lang, Language};
use patron_hub_domain::accounts::{PasswordPolicy, WeakPassword, MAX_PASSWORD_LENGTH};

/// Every text of the account link pages in one language.
pub(super) struct Words {
    pub(super) brand: &'static str,
    pub(super) password: &'static str,
    pub(super) log_in: &'static str,
    pub(super) activate_title: &'static str,
    pub(super) activate_intro: &'static str,
    pub(super) activate_button: &'static str,
    pub(super) activated_title: &'static str,
    pub(super) activated: &'static str,
    pub(super) wrong_password: &'static str,
    pub(super) reset_title: &'static str,
    pub(super) new_password: &'static str,
    /// `{n}` is replaced by the minimum length.
    pub(super) length_hint: &'static str,
    pub(super) confirm_password: &'static str,
    pub(super) reset_button: &'static str,
    pub(super) mismatch: &'static str,
    pub(super) weak_password: &'static str,
    pub(super) reset_done_title: &'static str,
    pub(super) reset_done: &'static str,
    pub(super) email_title: &'static str,
    pub(super) email_intro: &'static str,
    pub(super) email_button: &'static str,
    pub(super) email_done_title: &'static str,
    pub(super) email_done: &'static str,
    pub(super) invalid_title: &'static str,
    pub(super) invalid_link: &'static str,
    pub(super) invalid_hint: &'static str,
    pub(super) refused_title: &'static str,
    pub(super) refused: &'static str,
    /// `{n}` is replaced by the minimum length.
    too_short: &'static str,
    /// `{n}` is replaced by the maximum length.
    too_long: &'static str,
    common: &'static str,
    repeated: &'static str,
    same_as_user_name: &'static str,
    same_as_email: &'static str,
}

/// The words in the request's language.
pub(super) fn words(lang: &Lang) -> &'static Words {
    match lang.language() {
        Language::Fr => &FR,
        Language::En => &EN,
    }
}

impl Words {
    /// The hint under a new-password field.
    pub(super) fn length_hint(&self, policy: PasswordPolicy) -> String {
        self.length_hint
            .replace("{n}", &policy.min_length().to_string())
    }

    /// Why the policy refused a password, in this language. The domain hands
    /// the reason over as its English text, so it is recognised by that text;
    /// a reason this table does not know is shown as the domain wrote it.
    pub(super) fn weak_reason(&self, policy: PasswordPolicy, reason: &str) -> String {
        let min = policy.min_length().to_string();
        let max = MAX_PASSWORD_LENGTH.to_string();
        [
            (
                WeakPassword::TooShort(policy.min_length()),
                self.too_short.replace("{n}", &min),
            ),
            (
                WeakPassword::TooLong(MAX_PASSWORD_LENGTH),
                self.too_long.replace("{n}", &max),
            ),
            (WeakPassword::Common, self.common.to_owned()),
            (WeakPassword::Repeated, self.repeated.to_owned()),
            (
                WeakPassword::SameAsUserName,
                self.same_as_user_name.to_owned(),
            ),
            (WeakPassword::SameAsEmail, self.same_as_email.to_owned()),
        ]
        .into_iter()
        .find(|(weak, _)| weak.to_string() == reason)
        .map_or_else(|| reason.to_owned(), |(_, words)| words)
    }
}

static FR: Words = Words {
    brand: "patron-hub",
    password: "Mot de passe",
    log_in: "Se connecter",
    activate_title: "Activer votre compte",
    activate_intro: "Pour activer votre compte, saisissez le mot de passe que vous avez choisi lors de l'inscription.",
    activate_button: "Activer mon compte",
    activated_title: "Compte activé",
    activated: "Votre compte est actif : vous pouvez maintenant vous connecter.",
    wrong_password: "Le mot de passe ne correspond pas à celui choisi lors de l'inscription. Le lien reste valable : réessayez.",
    reset_title: "Choisir un nouveau mot de passe",
    new_password: "Nouveau mot de passe",
    length_hint: "Au moins {n} caractères. Une phrase de quelques mots est facile à retenir.",
    confirm_password: "Confirmez le nouveau mot de passe",
    reset_button: "Enregistrer le mot de passe",
    mismatch: "Les deux mots de passe saisis ne sont pas identiques : rien n'a été modifié.",
    weak_password: "Ce mot de passe n'est pas accepté :",
    reset_done_title: "Mot de passe changé",
    reset_done: "Votre mot de passe a été changé et toutes vos sessions ont été fermées : connectez-vous avec le nouveau mot de passe.",
    email_title: "Confirmer votre nouvelle adresse e-mail",
    email_intro: "Confirmez que cette adresse est bien la vôtre : elle deviendra l'adresse de votre compte.",
    email_button: "Confirmer l'adresse",
    email_done_title: "Adresse confirmée",
    email_done: "Votre compte utilise désormais cette adresse e-mail.",
    invalid_title: "Lien invalide",
    invalid_link: "Ce lien est invalide ou a expiré.",
    invalid_hint: "Un lien ne sert qu'une fois et pour un temps limité : demandez-en un nouveau si besoin.",
    refused_title: "Formulaire refusé",
    refused: "Ce formulaire ne vient pas de ce site : rien n'a été modifié. Rouvrez le lien reçu par e-mail.",
    too_short: "il doit compter au moins {n} caractères.",
    too_long: "il doit compter au plus {n} caractères.",
    common: "il figure dans une liste de mots de passe courants, que les attaquants essaient en premier.",
    repeated: "il ne doit pas être un seul caractère répété.",
    same_as_user_name: "il ne doit pas être votre nom d'utilisateur.",
    same_as_email: "il ne doit pas être votre adresse e-mail.",
};

static EN: Words = Words {
    brand: "patron-hub",
    password: "Password",
    log_in: "Log in",
    activate_title: "Activate your account",
    activate_intro: "To activate your account, type the password you chose when you registered.",
    activate_button: "Activate my account",
    activated_title: "Account activated",
    activated: "Your account is active: you can now log in.",
    wrong_password: "The password does not match the one chosen at registration. The link still works: try again.",
    reset_title: "Choose a new password",
    new_password: "New password",
    length_hint: "At least {n} characters. A sentence of a few words is easy to remember.",
    confirm_password: "Confirm the new password",
    reset_button: "Save the password",
    mismatch: "The two passwords you typed are not the same: nothing was changed.",
    weak_password: "This password is not accepted:",
    reset_done_title: "Password changed",
    reset_done: "Your password was changed and all your sessions were ended: log in with the new password.",
    email_title: "Confirm your new e-mail address",
    email_intro: "Confirm that this address is yours: it will become your account's address.",
    email_button: "Confirm the address",
    email_done_title: "Address confirmed",
    email_done: "Your account now uses this e-mail address.",
    invalid_title: "Invalid link",
    invalid_link: "This link is invalid or has expired.",
    invalid_hint: "A link works only once and for a limited time: ask for a new one if needed.",
    refused_title: "Form refused",
    refused: "This form does not come from this site: nothing was changed. Open the link from your e-mail again.",
    too_short: "it must be at least {n} characters long.",
    too_long: "it must be at most {n} characters long.",
    common: "it is in a list of common passwords, which attackers try first.",
    repeated: "it must not be a single repeated character.",
    same_as_user_name: "it must not be your user name.",
    same_as_email: "it must not be your e-mail address.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_of_the_policy_is_translated() {
        let policy = PasswordPolicy::new(12);
        let reasons = [
            WeakPassword::TooShort(12),
            WeakPassword::TooLong(MAX_PASSWORD_LENGTH),
            WeakPassword::Common,
            WeakPassword::Repeated,
            WeakPassword::SameAsUserName,
            WeakPassword::SameAsEmail,
        ];
        for reason in reasons {
            let english = reason.to_string();
            let french = FR.weak_reason(policy, &english);
            assert_ne!(french, english, "{reason:?} has no French words");
            assert!(!french.contains("{n}"), "{french}");
        }
        assert_eq!(
            FR.weak_reason(policy, &WeakPassword::TooShort(12).to_string()),
            "il doit compter au moins 12 caractères."
        );
        assert_eq!(
            EN.weak_reason(policy, "some reason the table does not know"),
            "some reason the table does not know"
        );
    }
}
