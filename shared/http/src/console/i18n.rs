//! The console's two languages: which one a request gets (`?lang=` first, then
//! `Accept-Language`, French by default), how links keep it, and one message
//! table per language.

use axum::extract::FromRequestParts;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

/// A language of the console (and of the account link pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    /// French, the default.
    Fr,
    /// English.
    En,
}

impl Language {
    fn code(self) -> &'static str {
        match self {
            Language::Fr => "fr",
            Language::En => "en",
        }
    }

    fn parse(code: &str) -> Option<Self> {
        let primary = code.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("fr") {
            Some(Language::Fr)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Language::En)
        } else {
            None
        }
    }

    fn other(self) -> Self {
        match self {
            Language::Fr => Language::En,
            Language::En => Language::Fr,
        }
    }
}

/// The language of one request, and how its pages link to each other in it.
#[derive(Debug, Clone)]
pub(crate) struct Lang {
    language: Language,
    /// Chosen with `?lang=`: kept in every link and form.
    explicit: bool,
    /// The same page in the other language (GET pages only).
    switch: Option<String>,
}

impl Lang {
    /// The language a request asks for.
    pub(crate) fn of(parts: &Parts) -> Self {
        let pairs: Vec<(&str, &str)> = parts
            .uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
            .collect();
        let chosen = pairs
            .iter()
            .find(|(key, _)| *key == "lang")
            .and_then(|(_, value)| Language::parse(value));
        let language = chosen.unwrap_or_else(|| preferred(&parts.headers));
        let switch = (parts.method == Method::GET).then(|| {
            let mut query: Vec<String> = pairs
                .iter()
                .filter(|(key, _)| *key != "lang")
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            query.push(format!("lang={}", language.other().code()));
            format!("{}?{}", parts.uri.path(), query.join("&"))
        });
        Self {
            language,
            explicit: chosen.is_some(),
            switch,
        }
    }

    /// The `lang` attribute's value.
    pub(crate) fn code(&self) -> &'static str {
        self.language.code()
    }

    /// The language itself, for pages with their own message tables.
    pub(crate) fn language(&self) -> Language {
        self.language
    }

    /// The messages in this language.
    pub(crate) fn text(&self) -> &'static Messages {
        match self.language {
            Language::Fr => &FR,
            Language::En => &EN,
        }
    }

    /// The language chosen with `?lang=`, which links and forms keep.
    pub(crate) fn chosen(&self) -> Option<&'static str> {
        self.explicit.then(|| self.code())
    }

    /// `path` (which may have a query already) keeping the chosen language.
    pub(crate) fn href(&self, path: &str) -> String {
        match self.chosen() {
            None => path.to_owned(),
            Some(code) => {
                let separator = if path.contains('?') { '&' } else { '?' };
                format!("{path}{separator}lang={code}")
            }
        }
    }

    /// The link to this page in the other language, with that language's name.
    pub(crate) fn switch(&self) -> Option<(&str, &'static str, &'static str)> {
        let other = self.language.other();
        let messages = match other {
            Language::Fr => &FR,
            Language::En => &EN,
        };
        self.switch
            .as_deref()
            .map(|href| (href, messages.language_name, other.code()))
    }
}

#[cfg(test)]
impl Lang {
    /// The default language's messages, for unit tests of the pages.
    pub(super) fn default_messages() -> &'static Messages {
        &FR
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts))
    }
}

/// The language `Accept-Language` prefers among ours (the highest weight; the
/// first listed on a tie), French when it names neither.
fn preferred(headers: &HeaderMap) -> Language {
    let mut best: Option<(Language, f32)> = None;
    let header = headers
        .get_all(ACCEPT_LANGUAGE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for item in header {
        let mut parts = item.split(';');
        let Some(language) = Language::parse(parts.next().unwrap_or_default().trim()) else {
            continue;
        };
        let weight = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if weight > 0.0 && best.is_none_or(|(_, w)| weight > w) {
            best = Some((language, weight));
        }
    }
    best.map_or(Language::Fr, |(language, _)| language)
}

/// Every text of the console in one language.
pub(crate) struct Messages {
    pub(super) language_name: &'static str,
    /// A colon as the language writes it after a word (French: a space before).
    pub(super) colon: &'static str,
    pub(super) console: &'static str,
    pub(super) skip_to_content: &'static str,
    pub(super) main_menu: &'static str,
    pub(super) nav_search: &'static str,
    pub(super) nav_dead_letters: &'static str,
    pub(super) nav_drift: &'static str,
    pub(super) nav_operations: &'static str,
    pub(super) operations_title: &'static str,
    pub(super) operations_intro: &'static str,
    pub(super) operations_reconcile: &'static str,
    pub(super) operations_applied: &'static str,
    pub(super) operations_dead_lettered: &'static str,
    pub(super) operations_throttled: &'static str,
    pub(super) operations_failed: &'static str,
    pub(super) operations_jobs_chart: &'static str,
    pub(super) operations_jobs_unit: &'static str,
    pub(super) operations_lag_chart: &'static str,
    pub(super) operations_alma_chart: &'static str,
    pub(super) operations_answers_unit: &'static str,
    pub(super) drift_title: &'static str,
    pub(super) drift_intro: &'static str,
    pub(super) drift_none: &'static str,
    pub(super) drift_run: &'static str,
    pub(super) drift_dry_run: &'static str,
    pub(super) drift_running: &'static str,
    pub(super) drift_checked: &'static str,
    pub(super) drift_missing: &'static str,
    pub(super) drift_stale: &'static str,
    pub(super) drift_unlinked: &'static str,
    pub(super) drift_queued: &'static str,
    pub(super) drift_not_queued: &'static str,
    pub(super) drift_differences: &'static str,
    pub(super) drift_kind: &'static str,
    pub(super) drift_newest_in: &'static str,
    pub(super) drift_more: &'static str,
    pub(super) drift_repair: &'static str,
    pub(super) drift_confirm: &'static str,
    pub(super) drift_repaired: &'static str,
    pub(super) action_repair_drift: &'static str,
    pub(super) signed_in_as: &'static str,
    pub(super) log_out: &'static str,
    pub(super) login_title: &'static str,
    pub(super) user_name: &'static str,
    pub(super) password: &'static str,
    pub(super) log_in: &'static str,
    pub(super) wrong_credentials: &'static str,
    pub(super) too_many_attempts: &'static str,
    pub(super) too_many_logins: &'static str,
    pub(super) forbidden_title: &'static str,
    pub(super) staff_only: &'static str,
    pub(super) form_expired_title: &'static str,
    pub(super) form_expired: &'static str,
    pub(crate) unavailable_title: &'static str,
    pub(crate) unavailable: &'static str,
    pub(super) not_found_title: &'static str,
    pub(super) patron_not_found: &'static str,
    pub(super) no_such_page: &'static str,
    pub(super) nothing_to_do: &'static str,
    pub(super) back_to_search: &'static str,
    pub(super) search_title: &'static str,
    pub(super) search_label: &'static str,
    pub(super) search_hint: &'static str,
    pub(super) search_button: &'static str,
    pub(super) search_empty: &'static str,
    pub(super) results_for: &'static str,
    pub(super) no_results: &'static str,
    pub(super) patron: &'static str,
    pub(super) institution: &'static str,
    pub(super) network_zone: &'static str,
    pub(super) account: &'static str,
    pub(super) present: &'static str,
    pub(super) absent: &'static str,
    pub(super) unreachable: &'static str,
    pub(super) linked_or_local: &'static str,
    pub(super) linked: &'static str,
    pub(super) local: &'static str,
    pub(super) status: &'static str,
    pub(super) user_group: &'static str,
    pub(super) expiry_date: &'static str,
    pub(super) purge_date: &'static str,
    pub(super) last_distribution: &'static str,
    pub(super) outcome_applied: &'static str,
    pub(super) outcome_skipped: &'static str,
    pub(super) outcome_dead_lettered: &'static str,
    pub(super) attempts: &'static str,
    pub(super) none: &'static str,
    pub(super) registry_title: &'static str,
    pub(super) in_registry: &'static str,
    pub(super) not_in_registry: &'static str,
    pub(super) emails: &'static str,
    pub(super) accounts_title: &'static str,
    pub(super) actions_title: &'static str,
    pub(super) action_delete: &'static str,
    pub(super) action_expiry: &'static str,
    pub(super) action_primary_id: &'static str,
    pub(super) action_redistribute: &'static str,
    pub(super) explain_delete: &'static str,
    pub(super) explain_expiry: &'static str,
    pub(super) explain_primary_id: &'static str,
    pub(super) explain_redistribute: &'static str,
    pub(super) will_change: &'static str,
    pub(super) unchanged: &'static str,
    pub(super) new_expiry_date: &'static str,
    pub(super) date_hint: &'static str,
    pub(super) new_primary_id: &'static str,
    pub(super) invalid_date: &'static str,
    pub(super) invalid_primary_id: &'static str,
    pub(super) same_primary_id: &'static str,
    pub(super) confirm: &'static str,
    pub(super) cancel: &'static str,
    pub(super) audit_title: &'static str,
    pub(super) audit_empty: &'static str,
    pub(super) when: &'static str,
    pub(super) who: &'static str,
    pub(super) what: &'static str,
    pub(super) results: &'static str,
    pub(super) result_queued: &'static str,
    pub(super) result_done: &'static str,
    pub(super) result_refused: &'static str,
    pub(super) result_unreachable: &'static str,
    pub(super) dead_letters_title: &'static str,
    pub(super) dead_letters_intro: &'static str,
    pub(super) dead_letters_empty: &'static str,
    pub(super) job: &'static str,
    pub(super) event: &'static str,
    pub(super) reason: &'static str,
    pub(super) given_up_at: &'static str,
    pub(super) replay: &'static str,
    pub(super) replay_all: &'static str,
    pub(super) replayed: &'static str,
}

/// French, the default.
static FR: Messages = Messages {
    language_name: "Français",
    colon: " :",
    console: "Console du réseau",
    skip_to_content: "Aller au contenu",
    main_menu: "Menu principal",
    nav_search: "Rechercher un lecteur",
    nav_dead_letters: "Travaux en échec",
    nav_drift: "Écarts",
    nav_operations: "Exploitation",
    operations_title: "Exploitation",
    operations_intro: "Les dernières 24 heures de chaque institution, par tranches de 10 minutes : travaux appliqués et abandonnés, délai entre la réception d'un webhook et l'application de son travail (p50 et p95), réponses 429 et 5xx d'Alma.",
    operations_reconcile: "Dernier rapprochement",
    operations_applied: "Appliqués",
    operations_dead_lettered: "Abandonnés",
    operations_throttled: "Alma 429",
    operations_failed: "Alma 5xx ou sans réponse",
    operations_jobs_chart: "Travaux par 10 minutes",
    operations_jobs_unit: "travaux",
    operations_lag_chart: "Délai des travaux appliqués (p50, p95)",
    operations_alma_chart: "Réponses d'Alma en erreur par 10 minutes",
    operations_answers_unit: "réponses",
    drift_title: "Écarts entre institutions",
    drift_intro: "Le dernier rapprochement compare les lecteurs distribués de chaque institution membre : ceux qui manquent, ceux dont la version est plus ancienne, et les copies liées absentes des lecteurs de la zone réseau.",
    drift_none: "Aucun rapprochement n'a encore été fait.",
    drift_run: "Rapprochement",
    drift_dry_run: "(à blanc : rien n'a été modifié)",
    drift_running: "(en cours)",
    drift_checked: "Lecteurs comparés",
    drift_missing: "Manquants",
    drift_stale: "Anciens",
    drift_unlinked: "Non liés",
    drift_queued: "en file",
    drift_not_queued: "à réparer",
    drift_differences: "Écarts",
    drift_kind: "Écart",
    drift_newest_in: "Version la plus récente",
    drift_more: "Écarts suivants",
    drift_repair: "Réparer",
    drift_confirm: "Un travail sera mis en file pour chacun de ces écarts, depuis la version la plus récente du lecteur, relue dans Alma ; les champs propres à chaque institution sont conservés.",
    drift_repaired: "Lecteurs réparés :",
    action_repair_drift: "Réparer un écart",
    signed_in_as: "Connecté·e :",
    log_out: "Se déconnecter",
    login_title: "Connexion",
    user_name: "Nom d'utilisateur",
    password: "Mot de passe",
    log_in: "Se connecter",
    wrong_credentials: "Nom d'utilisateur ou mot de passe incorrect.",
    too_many_attempts: "Trop de tentatives échouées : réessayez plus tard.",
    too_many_logins: "Trop de connexions depuis cette adresse réseau : réessayez plus tard.",
    forbidden_title: "Accès refusé",
    staff_only: "La console est réservée au personnel du réseau (rôle NETWORK_STAFF ou SUPER_ADMIN).",
    form_expired_title: "Formulaire expiré",
    form_expired: "Ce formulaire a expiré ou ne vient pas de la console : rien n'a été modifié. Rechargez la page et recommencez.",
    unavailable_title: "Service indisponible",
    unavailable: "Le service est momentanément indisponible : réessayez dans un instant.",
    not_found_title: "Introuvable",
    patron_not_found: "Aucune institution ne détient ce lecteur.",
    no_such_page: "Cette page n'existe pas.",
    nothing_to_do: "Aucune institution ne détient un compte auquel cette action s'applique : rien n'a été fait.",
    back_to_search: "Retour à la recherche",
    search_title: "Rechercher un lecteur",
    search_label: "Identifiant principal, code-barres ou adresse e-mail",
    search_hint: "Toutes les institutions sont interrogées en même temps.",
    search_button: "Rechercher",
    search_empty: "Saisissez un identifiant principal, un code-barres ou une adresse e-mail.",
    results_for: "Résultats pour",
    no_results: "Aucun lecteur trouvé.",
    patron: "Lecteur",
    institution: "Institution",
    network_zone: "zone réseau",
    account: "Compte",
    present: "présent",
    absent: "absent",
    unreachable: "injoignable",
    linked_or_local: "Lié ou local",
    linked: "lié",
    local: "local",
    status: "Statut",
    user_group: "Groupe d'usagers",
    expiry_date: "Date d'expiration",
    purge_date: "Date de purge",
    last_distribution: "Dernière distribution",
    outcome_applied: "appliquée",
    outcome_skipped: "ignorée (plus ancienne)",
    outcome_dead_lettered: "en échec",
    attempts: "Tentatives",
    none: "—",
    registry_title: "Registre des lecteurs",
    in_registry: "Connu du registre des lecteurs.",
    not_in_registry: "Absent du registre des lecteurs.",
    emails: "Adresses e-mail",
    accounts_title: "Comptes par institution",
    actions_title: "Actions",
    action_delete: "Supprimer tous les comptes",
    action_expiry: "Changer la date d'expiration partout",
    action_primary_id: "Changer l'identifiant principal partout",
    action_redistribute: "Relancer la distribution",
    explain_delete: "Le compte du lecteur sera supprimé dans chacune de ces institutions. Alma refuse de supprimer un compte qui a des prêts ou des frais : ce refus sera affiché.",
    explain_expiry: "La date d'expiration et la date de purge seront remplacées par la date choisie dans chacune de ces institutions ; rien d'autre ne change.",
    explain_primary_id: "L'identifiant principal sera remplacé dans chacune de ces institutions : chaque compte est relu puis réécrit avec le nouvel identifiant, rien d'autre ne change.",
    explain_redistribute: "L'enregistrement du lecteur sera envoyé de nouveau, depuis l'institution qui détient son compte local, à chacune de ces institutions.",
    will_change: "Institutions concernées",
    unchanged: "Aucun changement dans",
    new_expiry_date: "Nouvelle date d'expiration (et de purge)",
    date_hint: "Format AAAA-MM-JJ.",
    new_primary_id: "Nouvel identifiant principal",
    invalid_date: "Saisissez une date valide au format AAAA-MM-JJ.",
    invalid_primary_id: "Un identifiant principal a de 1 à 255 caractères, sans « / » ni caractère de contrôle.",
    same_primary_id: "Le nouvel identifiant est celui que le lecteur a déjà.",
    confirm: "Confirmer",
    cancel: "Annuler",
    audit_title: "Journal des actions",
    audit_empty: "Aucune action sur ce lecteur.",
    when: "Date",
    who: "Par",
    what: "Action",
    results: "Résultat par institution",
    result_queued: "en file d'attente",
    result_done: "fait",
    result_refused: "refusé par Alma",
    result_unreachable: "injoignable",
    dead_letters_title: "Travaux en échec",
    dead_letters_intro: "Travaux abandonnés après leurs tentatives, dans chaque institution. Relancer un travail le remet dans la file de son institution.",
    dead_letters_empty: "Aucun travail en échec.",
    job: "Travail",
    event: "Événement",
    reason: "Raison",
    given_up_at: "Abandonné le",
    replay: "Relancer",
    replay_all: "Tout relancer",
    replayed: "Travaux remis en file :",
};

/// English, with `?lang=en` or an `Accept-Language` preference.
static EN: Messages = Messages {
    language_name: "English",
    colon: ":",
    console: "Network console",
    skip_to_content: "Skip to content",
    main_menu: "Main menu",
    nav_search: "Find a patron",
    nav_dead_letters: "Dead letters",
    nav_drift: "Drift",
    nav_operations: "Operations",
    operations_title: "Operations",
    operations_intro: "Each institution's last 24 hours, per 10 minutes: jobs applied and dead-lettered, the lag from a webhook's receipt to its job's application (p50 and p95), Alma's 429 and 5xx answers.",
    operations_reconcile: "Last reconciliation",
    operations_applied: "Applied",
    operations_dead_lettered: "Dead-lettered",
    operations_throttled: "Alma 429",
    operations_failed: "Alma 5xx or no answer",
    operations_jobs_chart: "Jobs per 10 minutes",
    operations_jobs_unit: "jobs",
    operations_lag_chart: "Lag of applied jobs (p50, p95)",
    operations_alma_chart: "Alma's error answers per 10 minutes",
    operations_answers_unit: "answers",
    drift_title: "Drift between institutions",
    drift_intro: "The last reconcile compares the distributed readers of every member institution: those missing, those holding an older version, and the linked copies missing for network-zone patrons.",
    drift_none: "No reconcile has run yet.",
    drift_run: "Reconcile",
    drift_dry_run: "(dry run: nothing was changed)",
    drift_running: "(running)",
    drift_checked: "Readers compared",
    drift_missing: "Missing",
    drift_stale: "Stale",
    drift_unlinked: "Unlinked",
    drift_queued: "queued",
    drift_not_queued: "to repair",
    drift_differences: "Differences",
    drift_kind: "Difference",
    drift_newest_in: "Newest version",
    drift_more: "Next differences",
    drift_repair: "Repair",
    drift_confirm: "A job will be queued for each of these differences, from the reader's newest version, read again in Alma; each institution's own fields are kept.",
    drift_repaired: "Readers repaired:",
    action_repair_drift: "Repair a difference",
    signed_in_as: "Signed in as",
    log_out: "Log out",
    login_title: "Log in",
    user_name: "User name",
    password: "Password",
    log_in: "Log in",
    wrong_credentials: "Wrong user name or password.",
    too_many_attempts: "Too many failed attempts: try again later.",
    too_many_logins: "Too many logins from this network address: try again later.",
    forbidden_title: "Access denied",
    staff_only: "The console is for network staff (the NETWORK_STAFF or SUPER_ADMIN role).",
    form_expired_title: "Form expired",
    form_expired: "This form has expired or did not come from the console: nothing was changed. Reload the page and try again.",
    unavailable_title: "Service unavailable",
    unavailable: "The service is unavailable for a moment: please try again.",
    not_found_title: "Not found",
    patron_not_found: "No institution holds this patron.",
    no_such_page: "There is no such page.",
    nothing_to_do: "No institution holds an account this action applies to: nothing was done.",
    back_to_search: "Back to the search",
    search_title: "Find a patron",
    search_label: "Primary id, barcode or e-mail address",
    search_hint: "Every institution is asked at once.",
    search_button: "Search",
    search_empty: "Type a primary id, a barcode or an e-mail address.",
    results_for: "Results for",
    no_results: "No patron found.",
    patron: "Patron",
    institution: "Institution",
    network_zone: "network zone",
    account: "Account",
    present: "present",
    absent: "absent",
    unreachable: "unreachable",
    linked_or_local: "Linked or local",
    linked: "linked",
    local: "local",
    status: "Status",
    user_group: "User group",
    expiry_date: "Expiry date",
    purge_date: "Purge date",
    last_distribution: "Last distribution",
    outcome_applied: "applied",
    outcome_skipped: "skipped (older)",
    outcome_dead_lettered: "dead-lettered",
    attempts: "Attempts",
    none: "—",
    registry_title: "Patron registry",
    in_registry: "Known to the patron registry.",
    not_in_registry: "Not in the patron registry.",
    emails: "E-mail addresses",
    accounts_title: "Accounts by institution",
    actions_title: "Actions",
    action_delete: "Delete every account",
    action_expiry: "Set the expiry date everywhere",
    action_primary_id: "Change the primary id everywhere",
    action_redistribute: "Run the distribution again",
    explain_delete: "The patron's account will be deleted in each of these institutions. Alma refuses to delete an account with loans or fees: that refusal will be shown.",
    explain_expiry: "The expiry date and the purge date will be set to the chosen day in each of these institutions; nothing else changes.",
    explain_primary_id: "The primary id will be replaced in each of these institutions: each account is read, then written back with the new id, nothing else changes.",
    explain_redistribute: "The patron's record will be sent again, from the institution holding their local account, to each of these institutions.",
    will_change: "Institutions concerned",
    unchanged: "No change in",
    new_expiry_date: "New expiry (and purge) date",
    date_hint: "As YYYY-MM-DD.",
    new_primary_id: "New primary id",
    invalid_date: "Enter a valid date as YYYY-MM-DD.",
    invalid_primary_id: "A primary id has 1 to 255 characters, with no '/' and no control character.",
    same_primary_id: "The new id is the one the patron already has.",
    confirm: "Confirm",
    cancel: "Cancel",
    audit_title: "Audit log",
    audit_empty: "No action on this patron yet.",
    when: "When",
    who: "By",
    what: "Action",
    results: "Result per institution",
    result_queued: "queued",
    result_done: "done",
    result_refused: "refused by Alma",
    result_unreachable: "unreachable",
    dead_letters_title: "Dead letters",
    dead_letters_intro: "Jobs given up after their attempts, in every institution. Replaying a job puts it back on its institution's queue.",
    dead_letters_empty: "No dead letter.",
    job: "Job",
    event: "Event",
    reason: "Reason",
    given_up_at: "Given up at",
    replay: "Replay",
    replay_all: "Replay all",
    replayed: "Jobs put back on their queue:",
};

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn lang(uri: &str, accept: Option<&str>) -> Lang {
        let mut request = Request::get(uri);
        if let Some(accept) = accept {
            request = request.header(ACCEPT_LANGUAGE, accept);
        }
        let (parts, ()) = request.body(()).unwrap().into_parts();
        Lang::of(&parts)
    }

    #[test]
    fn french_unless_english_is_asked_for() {
        assert_eq!(lang("/console", None).code(), "fr");
        assert_eq!(lang("/console?lang=en", None).code(), "en");
        assert_eq!(lang("/console?lang=fr", Some("en")).code(), "fr");
        assert_eq!(lang("/console", Some("en-GB,en;q=0.9")).code(), "en");
        assert_eq!(lang("/console", Some("de,en;q=0.5,fr;q=0.8")).code(), "fr");
        assert_eq!(lang("/console", Some("de,en;q=0.5")).code(), "en");
        assert_eq!(lang("/console", Some("en;q=0")).code(), "fr");
        assert_eq!(lang("/console?lang=xx", Some("de")).code(), "fr");
    }

    #[test]
    fn a_chosen_language_is_kept_in_links() {
        let english = lang("/console/search?q=a&lang=en", None);
        assert_eq!(english.href("/console"), "/console?lang=en");
        assert_eq!(english.href("/console?x=1"), "/console?x=1&lang=en");
        let (href, name, code) = english.switch().unwrap();
        assert_eq!(href, "/console/search?q=a&lang=fr");
        assert_eq!((name, code), ("Français", "fr"));
        let preferred = lang("/console", Some("en"));
        assert_eq!(
            preferred.href("/console"),
            "/console",
            "the header keeps it"
        );
    }
}
