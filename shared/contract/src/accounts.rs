//! Cases of the account store: user names (whatever their case) and e-mails are
//! unique under concurrency, an e-mail once used is reserved for ever, updates are
//! optimistically locked, and a bulk import creates every account or none; the
//! accounts past their expiry date are listed by it (`expiry.rs`).

mod expiry;

pub use expiry::*;

use crate::people::{
    account, bare_account, by_email, by_user_name, create, email, get, next_version, person,
    unique_word, update, user_name,
};
use crate::Backend;
use patron_hub_domain::accounts::{Account, AccountState, AccountWriteError, Email, UserName};
use std::collections::BTreeSet;

/// How many accounts the bulk cases import: more than DynamoDB's 100-item transaction.
const BULK: usize = 250;

/// Which account of a bulk import conflicts (the 180th), beyond the first 100 items.
const CONFLICTING: usize = 179;

/// Fails unless `result` is the refusal `expected` names (`"UserNameTaken"`, ...).
fn assert_refused(result: Result<(), AccountWriteError>, expected: &str, why: &str) {
    let answered = match &result {
        Ok(()) => "Ok",
        Err(AccountWriteError::UserNameTaken(_)) => "UserNameTaken",
        Err(AccountWriteError::EmailTaken(_)) => "EmailTaken",
        Err(AccountWriteError::VersionConflict) => "VersionConflict",
        Err(AccountWriteError::NotFound) => "NotFound",
        Err(AccountWriteError::Store(error)) => panic!("{why}: storage failed: {error}"),
    };
    assert_eq!(answered, expected, "{why}: answered {result:?}");
}

/// `BULK` new accounts sharing one random word.
fn bulk_import() -> Vec<Account> {
    let word = unique_word();
    (0..BULK).map(|i| bare_account(i, &word)).collect()
}

/// Which of `names` and `emails` the store reports taken, as sorted keys.
async fn taken(b: &Backend, names: &[UserName], emails: &[Email]) -> (Vec<String>, Vec<Email>) {
    let (names, mut emails) = match b.accounts.taken(names, emails).await {
        Ok(taken) => taken,
        Err(error) => panic!("taken failed: {error}"),
    };
    let mut names: Vec<String> = names.iter().map(UserName::key).collect();
    names.sort();
    emails.sort();
    (names, emails)
}

/// Checks that no account of `accounts` exists in any way.
async fn assert_none_exists(b: &Backend, accounts: &[Account], why: &str) {
    for candidate in accounts {
        assert_eq!(
            get(b, candidate.id).await,
            None,
            "{why}: {} exists",
            candidate.user_name
        );
    }
    let names: Vec<UserName> = accounts.iter().map(|a| a.user_name.clone()).collect();
    let emails: Vec<Email> = accounts.iter().map(|a| a.email.clone()).collect();
    let (names, emails) = taken(b, &names, &emails).await;
    assert!(names.is_empty(), "{why}: user names still taken: {names:?}");
    assert!(emails.is_empty(), "{why}: e-mails still taken: {emails:?}");
}

/// A created account reads back intact by id, by its e-mail (as `Email` normalises
/// it) and by its user name in any case; unknown ones are None.
pub async fn created_account_is_found_by_id_email_and_user_name(b: Backend) {
    let created = account();
    create(&b, &created).await;
    assert_eq!(get(&b, created.id).await.as_ref(), Some(&created));
    let shouted = email(&created.email.as_str().to_uppercase());
    assert_eq!(by_email(&b, &shouted).await.as_ref(), Some(&created));
    for spelling in [
        created.user_name.as_str().to_uppercase(),
        created.user_name.as_str().to_lowercase(),
    ] {
        let found = by_user_name(&b, &user_name(&spelling)).await;
        assert_eq!(found.as_ref(), Some(&created), "looked up as {spelling}");
    }
    let stranger = account();
    assert_eq!(get(&b, stranger.id).await, None);
    assert_eq!(by_email(&b, &stranger.email).await, None);
    assert_eq!(by_user_name(&b, &stranger.user_name).await, None);
}

/// A second account with the same user name in another case is UserNameTaken; one
/// with the same e-mail is EmailTaken; neither is stored.
pub async fn duplicate_user_name_or_email_is_refused(b: Backend) {
    let first = account();
    create(&b, &first).await;
    let same_name = Account {
        user_name: user_name(&first.user_name.as_str().to_uppercase()),
        ..account()
    };
    assert_refused(
        b.accounts.create(&same_name).await,
        "UserNameTaken",
        "a user name differing only in case",
    );
    let same_email = Account {
        email: first.email.clone(),
        ..account()
    };
    assert_refused(
        b.accounts.create(&same_email).await,
        "EmailTaken",
        "an e-mail already held",
    );
    for refused in [&same_name, &same_email] {
        assert_eq!(
            get(&b, refused.id).await,
            None,
            "a refused account was stored"
        );
    }
    assert_eq!(by_email(&b, &same_name.email).await, None);
    assert_eq!(by_user_name(&b, &same_email.user_name).await, None);
    assert_eq!(
        by_user_name(&b, &first.user_name).await.as_ref(),
        Some(&first)
    );
}

/// Fifty concurrent creations of different accounts with one e-mail: exactly one
/// succeeds, every other is EmailTaken, and the e-mail leads to the winner.
pub async fn concurrent_creations_with_one_email_create_one_account(b: Backend) {
    let shared = account().email;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let candidate = Account {
                email: shared.clone(),
                ..account()
            };
            let accounts = b.accounts.clone();
            tokio::spawn(async move {
                let result = accounts.create(&candidate).await;
                (candidate, result)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for joined in futures::future::join_all(tasks).await {
        let (candidate, result) = joined.expect("a creating task panicked");
        match result {
            Ok(()) => winners.push(candidate),
            Err(AccountWriteError::EmailTaken(_)) => {
                assert_eq!(
                    get(&b, candidate.id).await,
                    None,
                    "a refused account was stored"
                );
            }
            Err(other) => panic!("a concurrent creation answered {other:?}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one concurrent creation may succeed"
    );
    assert_eq!(by_email(&b, &shared).await.as_ref(), winners.first());
}

/// A deactivated account keeps its e-mail (and user name): nobody else may take them.
pub async fn inactive_account_keeps_its_email_reserved(b: Backend) {
    let closed = account();
    create(&b, &closed).await;
    let closed = Account {
        state: AccountState::Inactive,
        ..next_version(&closed)
    };
    update(&b, &closed).await;
    let newcomer = Account {
        email: closed.email.clone(),
        ..account()
    };
    assert_refused(
        b.accounts.create(&newcomer).await,
        "EmailTaken",
        "the e-mail of an inactive account",
    );
    let namesake = Account {
        user_name: closed.user_name.clone(),
        ..account()
    };
    assert_refused(
        b.accounts.create(&namesake).await,
        "UserNameTaken",
        "the user name of an inactive account",
    );
    assert_eq!(by_email(&b, &closed.email).await.as_ref(), Some(&closed));
}

/// An update carrying the next version replaces the account; one carrying a stale
/// (or skipped) version is a VersionConflict and changes nothing.
pub async fn update_bumps_the_version_and_refuses_a_stale_one(b: Backend) {
    let original = account();
    create(&b, &original).await;
    let renamed = Account {
        first_name: person("Camille"),
        department: None,
        department_roles: Vec::new(),
        paid: false,
        expires_on: None,
        password_hash: None,
        ..next_version(&original)
    };
    update(&b, &renamed).await;
    assert_eq!(get(&b, original.id).await.as_ref(), Some(&renamed));

    let stale = Account {
        last_name: person("Stale"),
        ..next_version(&original)
    };
    assert_refused(
        b.accounts.update(&stale).await,
        "VersionConflict",
        "an update based on version 1 after version 2 was written",
    );
    let skipped = Account {
        last_name: person("Skipped"),
        version: renamed.version + 2,
        ..renamed.clone()
    };
    assert_refused(
        b.accounts.update(&skipped).await,
        "VersionConflict",
        "an update skipping a version",
    );
    assert_eq!(get(&b, original.id).await.as_ref(), Some(&renamed));
    update(&b, &next_version(&renamed)).await;
    assert_eq!(get(&b, original.id).await.map(|a| a.version), Some(3));
}

/// Updating an account that was never created is NotFound, and creates nothing.
pub async fn update_of_a_missing_account_is_not_found(b: Backend) {
    let ghost = next_version(&account());
    assert_refused(
        b.accounts.update(&ghost).await,
        "NotFound",
        "an update of an account never created",
    );
    assert_eq!(get(&b, ghost.id).await, None);
    assert_eq!(by_email(&b, &ghost.email).await, None);
    assert_eq!(by_user_name(&b, &ghost.user_name).await, None);
}

/// Changing an e-mail reserves the new one and frees nothing: the old one leads to
/// no account any more but nobody may take it, nor another account's e-mail, past
/// or present (EmailTaken, nothing changed).
pub async fn email_change_keeps_the_old_email_reserved(b: Backend) {
    let mover = account();
    create(&b, &mover).await;
    let old = mover.email.clone();
    let moved = Account {
        email: email(&format!("new.{}@example.net", unique_word())),
        ..next_version(&mover)
    };
    update(&b, &moved).await;
    assert_eq!(by_email(&b, &moved.email).await.as_ref(), Some(&moved));
    assert_eq!(
        by_email(&b, &old).await,
        None,
        "nobody holds the old e-mail"
    );

    let newcomer = Account {
        email: old.clone(),
        ..account()
    };
    assert_refused(
        b.accounts.create(&newcomer).await,
        "EmailTaken",
        "an e-mail given up by a change",
    );
    let taker = Account {
        email: moved.email.clone(),
        ..account()
    };
    assert_refused(
        b.accounts.create(&taker).await,
        "EmailTaken",
        "an e-mail taken by a change",
    );

    let other = account();
    create(&b, &other).await;
    for (address, why) in [
        (&moved.email, "changing to another account's e-mail"),
        (&old, "changing to another account's former e-mail"),
    ] {
        let grab = Account {
            email: address.clone(),
            ..next_version(&other)
        };
        assert_refused(b.accounts.update(&grab).await, "EmailTaken", why);
    }
    assert_eq!(get(&b, other.id).await.as_ref(), Some(&other));
    assert_eq!(by_email(&b, &moved.email).await.as_ref(), Some(&moved));
}

/// Changing a user name moves its reservation: the new name (in any case) leads to
/// the account, the old one is free for a new account; a taken name is refused.
pub async fn user_name_change_moves_the_reservation(b: Backend) {
    let mover = account();
    create(&b, &mover).await;
    let old = mover.user_name.clone();
    let renamed = Account {
        user_name: user_name(&format!("Renamed.{}", unique_word())),
        ..next_version(&mover)
    };
    update(&b, &renamed).await;
    let shouted = user_name(&renamed.user_name.as_str().to_uppercase());
    assert_eq!(by_user_name(&b, &shouted).await.as_ref(), Some(&renamed));
    assert_eq!(by_user_name(&b, &old).await, None);

    let heir = Account {
        user_name: old.clone(),
        ..account()
    };
    create(&b, &heir).await;
    assert_eq!(by_user_name(&b, &old).await.as_ref(), Some(&heir));

    let grab = Account {
        user_name: user_name(&renamed.user_name.as_str().to_lowercase()),
        ..next_version(&heir)
    };
    assert_refused(
        b.accounts.update(&grab).await,
        "UserNameTaken",
        "changing to another account's user name",
    );
    assert_eq!(get(&b, heir.id).await.as_ref(), Some(&heir));
    assert_eq!(by_user_name(&b, &shouted).await.as_ref(), Some(&renamed));
}

/// `taken` reports exactly the user names (any case) and e-mails (current, former
/// or of an inactive account) already used, and none of the free ones.
pub async fn taken_reports_exactly_the_taken_names_and_emails(b: Backend) {
    let (held, moved, closed) = (account(), account(), account());
    for created in [&held, &moved, &closed] {
        create(&b, created).await;
    }
    let moved_to = Account {
        email: email(&format!("moved.{}@example.net", unique_word())),
        ..next_version(&moved)
    };
    update(&b, &moved_to).await;
    update(
        &b,
        &Account {
            state: AccountState::Inactive,
            ..next_version(&closed)
        },
    )
    .await;

    let free = account();
    let names = [
        user_name(&held.user_name.as_str().to_uppercase()),
        free.user_name.clone(),
        closed.user_name.clone(),
    ];
    let emails = [
        held.email.clone(),
        free.email.clone(),
        moved.email.clone(),
        moved_to.email.clone(),
        closed.email.clone(),
    ];
    let (names, emails) = taken(&b, &names, &emails).await;
    let mut expected_names = vec![held.user_name.key(), closed.user_name.key()];
    expected_names.sort();
    let mut expected_emails = vec![held.email, moved.email, moved_to.email, closed.email];
    expected_emails.sort();
    assert_eq!(names, expected_names);
    assert_eq!(emails, expected_emails);
    let (none, nothing) = taken(&b, &[], &[]).await;
    assert!(none.is_empty() && nothing.is_empty());
}

/// `create_all` of 250 accounts (beyond one DynamoDB transaction) creates them all.
pub async fn create_all_creates_every_account(b: Backend) {
    let import = bulk_import();
    if let Err(error) = b.accounts.create_all(&import).await {
        panic!("create_all of {BULK} accounts failed: {error}");
    }
    for created in &import {
        assert_eq!(get(&b, created.id).await.as_ref(), Some(created));
    }
    let last = &import[BULK - 1];
    assert_eq!(by_email(&b, &last.email).await.as_ref(), Some(last));
    assert_eq!(by_user_name(&b, &last.user_name).await.as_ref(), Some(last));
    let names: Vec<UserName> = import.iter().map(|a| a.user_name.clone()).collect();
    let (taken_names, _) = taken(&b, &names, &[]).await;
    assert_eq!(taken_names.len(), BULK);
}

/// `create_all` where the 180th account's e-mail (or user name) is already held
/// creates none of the 250, releases every reservation it made, and the same
/// import without the conflict then succeeds.
pub async fn create_all_with_a_conflict_creates_none(b: Backend) {
    let existing = account();
    create(&b, &existing).await;
    let clean = bulk_import();

    let mut import = clean.clone();
    import[CONFLICTING].email = existing.email.clone();
    assert_refused(
        b.accounts.create_all(&import).await,
        "EmailTaken",
        "an import whose 180th e-mail is held",
    );
    assert_none_exists(&b, &clean, "after an e-mail conflict").await;

    let mut import = clean.clone();
    import[CONFLICTING].user_name = user_name(&existing.user_name.as_str().to_lowercase());
    assert_refused(
        b.accounts.create_all(&import).await,
        "UserNameTaken",
        "an import whose 180th user name is held",
    );
    assert_none_exists(&b, &clean, "after a user-name conflict").await;
    assert_eq!(get(&b, existing.id).await.as_ref(), Some(&existing));

    if let Err(error) = b.accounts.create_all(&clean).await {
        panic!("the import without its conflict failed: {error}");
    }
    for created in &clean {
        assert_eq!(get(&b, created.id).await.as_ref(), Some(created));
    }
}

/// `create_all` of accounts that clash among themselves (two with one e-mail, or
/// one user name in two cases) creates none of them.
pub async fn create_all_with_duplicates_inside_creates_none(b: Backend) {
    let mut import = bulk_import();
    import[CONFLICTING].email = import[3].email.clone();
    assert_refused(
        b.accounts.create_all(&import).await,
        "EmailTaken",
        "an import holding one e-mail twice",
    );
    let mut distinct = bulk_import();
    distinct[CONFLICTING].user_name = user_name(&distinct[3].user_name.as_str().to_uppercase());
    assert_refused(
        b.accounts.create_all(&distinct).await,
        "UserNameTaken",
        "an import holding one user name twice",
    );
    assert_none_exists(&b, &import, "after a duplicate e-mail").await;
    assert_none_exists(&b, &distinct, "after a duplicate user name").await;
}

/// `search` finds, whatever the case (accents included), the accounts whose user
/// name, e-mail, first or last name contains the text, and at most `limit` of them.
pub async fn search_finds_by_any_name_case_insensitive_and_limited(b: Backend) {
    let word = unique_word();
    let by_name = Account {
        user_name: user_name(&format!("Key.{word}.x")),
        ..account()
    };
    let by_address = Account {
        email: email(&format!("hélène.{word}@example.org")),
        ..account()
    };
    let by_first = Account {
        first_name: person(&format!("Élodie{word}")),
        ..account()
    };
    let by_last = Account {
        last_name: person(&format!("Lefèvre-{word}")),
        ..account()
    };
    let unrelated = account();
    let matching = [&by_name, &by_address, &by_first, &by_last];
    for created in matching.iter().copied().chain([&unrelated]) {
        create(&b, created).await;
    }
    let expected: BTreeSet<_> = matching.iter().map(|a| a.id).collect();

    let found = match b.accounts.search(&word.to_uppercase(), 10).await {
        Ok(found) => found,
        Err(error) => panic!("search failed: {error}"),
    };
    assert_eq!(
        found.iter().map(|a| a.id).collect::<BTreeSet<_>>(),
        expected
    );
    assert_eq!(found.len(), expected.len(), "an account was listed twice");
    for account in &found {
        assert!(
            matching.contains(&account),
            "{} came back altered",
            account.user_name
        );
    }

    for (text, expected) in [
        (format!("LEFÈVRE-{word}"), &by_last),
        (format!("élodie{word}"), &by_first),
    ] {
        let accented = match b.accounts.search(&text, 10).await {
            Ok(found) => found,
            Err(error) => panic!("search for {text} failed: {error}"),
        };
        assert_eq!(
            accented,
            vec![expected.clone()],
            "{text}: accents in another case"
        );
    }

    let limited = match b.accounts.search(&word, 2).await {
        Ok(found) => found,
        Err(error) => panic!("search failed: {error}"),
    };
    assert_eq!(limited.len(), 2, "search must stop at its limit");
    assert!(limited.iter().all(|a| expected.contains(&a.id)));
}
