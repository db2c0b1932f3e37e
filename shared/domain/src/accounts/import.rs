//! Checking a bulk import before anything is written: every row's format, the
//! user names and e-mails repeated inside the file, and (given the store's
//! answer) those already taken. Every error is kept, as `Line N: ...`.

use super::fields::{self, IMPORTED_DEPARTMENT_PREFIX};
use super::{
    Account, AccountId, AccountState, Email, ImportRow, InvalidField, Language, PersonName,
    UserName,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};

/// The rows of an import file, checked on their own; the store's answer about
/// taken names is added with [`ImportCheck::add_taken`].
#[derive(Debug)]
pub(crate) struct ImportCheck {
    /// Accounts built from rows without errors, in file order.
    accounts: Vec<Account>,
    /// Every well-formed user name, with its line (taken check).
    user_names: Vec<(usize, UserName)>,
    /// Every well-formed e-mail, with its line (taken check).
    emails: Vec<(usize, Email)>,
    /// Every error so far: line, message.
    errors: Vec<(usize, String)>,
}

impl ImportCheck {
    /// Checks `rows` (blank rows skipped), building accounts created at `now`:
    /// active, no password (each gets an invitation), French mails.
    pub(crate) fn rows(rows: &[ImportRow], now: DateTime<Utc>) -> Self {
        let mut check = Self {
            accounts: Vec::new(),
            user_names: Vec::new(),
            emails: Vec::new(),
            errors: Vec::new(),
        };
        let mut first_line_of_name: HashMap<String, usize> = HashMap::new();
        let mut first_line_of_email: HashMap<Email, usize> = HashMap::new();
        let blank = |row: &&ImportRow| {
            [
                &row.user_name,
                &row.nom,
                &row.prenom,
                &row.email,
                &row.roles,
                &row.dept,
            ]
            .iter()
            .all(|field| field.trim().is_empty())
        };
        for row in rows.iter().filter(|row| !blank(row)) {
            let line = row.line;
            let mut fail = |error: InvalidField| check.errors.push((line, error.to_string()));
            let user_name = UserName::parse(&row.user_name).map_err(&mut fail).ok();
            let last_name = PersonName::parse("nom", &row.nom).map_err(&mut fail).ok();
            let first_name = PersonName::parse("prenom", &row.prenom)
                .map_err(&mut fail)
                .ok();
            let email = Email::parse(&row.email).map_err(&mut fail).ok();
            let roles = fields::role_names(&row.roles).map_err(&mut fail).ok();
            let dept = fields::department_acronym(&row.dept)
                .map_err(&mut fail)
                .ok();
            let mut unique = true;
            if let Some(name) = &user_name {
                let first = *first_line_of_name.entry(name.key()).or_insert(line);
                if first != line {
                    check
                        .errors
                        .push((line, format!("user_name {name} is also on line {first}")));
                    unique = false;
                }
                check.user_names.push((line, name.clone()));
            }
            if let Some(email) = &email {
                let first = *first_line_of_email.entry(email.clone()).or_insert(line);
                if first != line {
                    check
                        .errors
                        .push((line, format!("email {email} is also on line {first}")));
                    unique = false;
                }
                check.emails.push((line, email.clone()));
            }
            if let (
                Some(user_name),
                Some(last_name),
                Some(first_name),
                Some(email),
                Some(roles),
                Some(dept),
                true,
            ) = (user_name, last_name, first_name, email, roles, dept, unique)
            {
                let department_roles = dept
                    .map(|acronym| format!("{IMPORTED_DEPARTMENT_PREFIX}{acronym}"))
                    .into_iter()
                    .chain(roles)
                    .collect();
                check.accounts.push(Account {
                    id: AccountId::new(),
                    user_name,
                    email,
                    first_name,
                    last_name,
                    department: None,
                    department_roles,
                    paid: false,
                    state: AccountState::Active,
                    expires_on: None,
                    network_roles: BTreeSet::new(),
                    password_hash: None,
                    language: Language::Fr,
                    created_at: now,
                    last_seen_at: None,
                    password_changed_at: None,
                    version: 1,
                });
            }
        }
        check
    }

    /// The well-formed user names of the file, to ask the store which are taken.
    pub(crate) fn user_names(&self) -> Vec<UserName> {
        self.user_names
            .iter()
            .map(|(_, name)| name.clone())
            .collect()
    }

    /// The well-formed e-mails of the file, to ask the store which are taken.
    pub(crate) fn emails(&self) -> Vec<Email> {
        self.emails.iter().map(|(_, email)| email.clone()).collect()
    }

    /// Adds an error for every row whose user name or e-mail the store says is taken.
    pub(crate) fn add_taken(&mut self, user_names: &[UserName], emails: &[Email]) {
        let names: BTreeSet<String> = user_names.iter().map(UserName::key).collect();
        for (line, name) in &self.user_names {
            if names.contains(&name.key()) {
                self.errors
                    .push((*line, format!("user_name {name} is already taken")));
            }
        }
        for (line, email) in &self.emails {
            if emails.contains(email) {
                self.errors
                    .push((*line, format!("email {email} is already taken")));
            }
        }
    }

    /// The accounts to create, or every error in line order (none for an empty file).
    pub(crate) fn outcome(mut self) -> Result<Vec<Account>, Vec<String>> {
        if self.accounts.is_empty() && self.errors.is_empty() {
            return Err(vec![
                "the file holds no account (data starts at line 2)".to_owned()
            ]);
        }
        if self.errors.is_empty() {
            return Ok(self.accounts);
        }
        self.errors.sort_by_key(|(line, _)| *line);
        Err(self
            .errors
            .into_iter()
            .map(|(line, error)| format!("Line {line}: {error}"))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: usize, user_name: &str, email: &str) -> ImportRow {
        ImportRow {
            line,
            user_name: user_name.to_owned(),
            nom: "Lefebvre".to_owned(),
            prenom: "Camille".to_owned(),
            email: email.to_owned(),
            roles: "Ens_RT, Admin_RT".to_owned(),
            dept: "rt".to_owned(),
        }
    }

    #[test]
    fn good_rows_become_active_accounts_without_password() {
        let rows = vec![
            row(2, "clefebvre", "c.lefebvre@example.org"),
            row(3, "zmartin", "z.martin@example.org"),
        ];
        let accounts = ImportCheck::rows(&rows, Utc::now()).outcome().unwrap();
        assert_eq!(accounts.len(), 2);
        assert_eq!(accounts[0].user_name.as_str(), "clefebvre");
        assert_eq!(accounts[0].last_name.as_str(), "Lefebvre");
        assert_eq!(
            accounts[0].department_roles,
            vec!["dept:RT", "Ens_RT", "Admin_RT"]
        );
        assert_eq!(accounts[1].state, AccountState::Active);
        assert!(accounts
            .iter()
            .all(|a| a.password_hash.is_none() && a.version == 1));
    }

    #[test]
    fn every_format_error_is_reported_with_its_line() {
        let mut bad = row(3, "jérôme", "not-an-address");
        bad.nom = " ".to_owned();
        let rows = vec![row(2, "clefebvre", "c.lefebvre@example.org"), bad];
        let errors = ImportCheck::rows(&rows, Utc::now()).outcome().unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors.iter().all(|e| e.starts_with("Line 3: ")),
            "{errors:?}"
        );
        assert!(errors.iter().any(|e| e.starts_with("Line 3: user_name: ")));
        assert!(errors.iter().any(|e| e.starts_with("Line 3: nom: ")));
        assert!(errors.iter().any(|e| e.starts_with("Line 3: email: ")));
    }

    #[test]
    fn duplicates_inside_the_file_name_the_first_line() {
        let rows = vec![
            row(2, "clefebvre", "c.lefebvre@example.org"),
            row(3, "CLefebvre", "other@example.org"),
            row(4, "zmartin", "C.Lefebvre@Example.org"),
        ];
        let errors = ImportCheck::rows(&rows, Utc::now()).outcome().unwrap_err();
        assert_eq!(
            errors,
            vec![
                "Line 3: user_name CLefebvre is also on line 2",
                "Line 4: email c.lefebvre@example.org is also on line 2",
            ]
        );
    }

    #[test]
    fn taken_names_and_emails_are_errors_too() {
        let rows = vec![
            row(2, "clefebvre", "c.lefebvre@example.org"),
            row(3, "zmartin", "z.martin@example.org"),
        ];
        let mut check = ImportCheck::rows(&rows, Utc::now());
        assert_eq!(check.user_names().len(), 2);
        check.add_taken(
            &[UserName::parse("ZMARTIN").unwrap()],
            &[Email::parse("c.lefebvre@example.org").unwrap()],
        );
        assert_eq!(
            check.outcome().unwrap_err(),
            vec![
                "Line 2: email c.lefebvre@example.org is already taken",
                "Line 3: user_name zmartin is already taken"
            ]
        );
    }

    #[test]
    fn blank_rows_are_skipped_and_an_empty_file_is_refused() {
        let blank = ImportRow {
            line: 3,
            ..ImportRow::default()
        };
        let rows = vec![row(2, "clefebvre", "c.lefebvre@example.org"), blank.clone()];
        assert_eq!(
            ImportCheck::rows(&rows, Utc::now())
                .outcome()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            ImportCheck::rows(&[blank], Utc::now())
                .outcome()
                .unwrap_err()
                .len(),
            1
        );
    }
}
