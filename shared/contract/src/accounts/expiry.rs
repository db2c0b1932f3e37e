//! Cases of `expired_on`, what the daily rollover deactivates: exactly the
//! accounts that are not inactive and whose last day is before the given day,
//! in expiry order, at most as many as asked, following every write.

use crate::organization_samples::{after, base_day, before};
use crate::people::{account, bare_account, create, next_version, unique_word, update};
use crate::Backend;
use chrono::NaiveDate;
use patron_hub_domain::accounts::{Account, AccountState, Email};
use std::collections::BTreeSet;

/// A new account (version 1) in `state` whose last day is `expires_on`.
fn expiring(state: AccountState, expires_on: Option<NaiveDate>) -> Account {
    Account {
        state,
        expires_on,
        ..account()
    }
}

/// The accounts `expired_on(today, limit)` gives, failing the case on a storage error.
async fn expired(b: &Backend, today: NaiveDate, limit: usize) -> Vec<Account> {
    match b.accounts.expired_on(today, limit).await {
        Ok(accounts) => accounts,
        Err(error) => panic!("expired_on({today}, {limit}) failed: {error}"),
    }
}

/// Fails unless `accounts` come in expiry order.
fn assert_in_expiry_order(accounts: &[Account], why: &str) {
    let days: Vec<Option<NaiveDate>> = accounts.iter().map(|a| a.expires_on).collect();
    assert!(
        days.windows(2).all(|pair| pair[0] <= pair[1]),
        "{why}: not in expiry order: {days:?}"
    );
}

/// Of accounts created one by one or imported, every account past its last day
/// is given, active or pending, intact and in expiry order; none whose last day
/// is today or later, none without one, none inactive. Another day moves the
/// line, and a limit of `usize::MAX` (a dry run's) means all of them.
pub async fn expired_on_returns_exactly_the_past_due_accounts_in_expiry_order(b: Backend) {
    let today = base_day();
    let (yesterday, last_year) = (before(today, 1), before(today, 400));
    let created = [
        expiring(AccountState::Active, Some(yesterday)),
        expiring(AccountState::PendingActivation, Some(before(today, 40))),
        expiring(AccountState::Active, Some(last_year)),
    ];
    let last_day_today = expiring(AccountState::Active, Some(today));
    let bystanders = [
        last_day_today.clone(),
        expiring(AccountState::Active, Some(after(today, 1))),
        expiring(AccountState::Active, None),
        expiring(AccountState::Inactive, Some(before(today, 10))),
    ];
    for stored in created.iter().chain(&bystanders) {
        create(&b, stored).await;
    }
    let word = unique_word();
    let imported = Account {
        expires_on: Some(before(today, 20)),
        ..bare_account(0, &word)
    };
    let import = [
        imported.clone(),
        Account {
            state: AccountState::Inactive,
            expires_on: Some(before(today, 30)),
            ..bare_account(1, &word)
        },
        bare_account(2, &word),
    ];
    if let Err(error) = b.accounts.create_all(&import).await {
        panic!("create_all of the import failed: {error}");
    }

    let [ends_yesterday, pending, oldest] = created;
    let expected = vec![oldest.clone(), pending, imported, ends_yesterday];
    assert_eq!(expired(&b, today, usize::MAX).await, expected);
    assert_eq!(expired(&b, today, 100).await, expected);
    assert_eq!(
        expired(&b, last_year, 100).await,
        [],
        "nobody's last day is before the oldest one"
    );
    assert_eq!(
        expired(&b, after(last_year, 1), 100).await,
        [oldest],
        "the day after the oldest last day"
    );
    let mut tomorrow = expected;
    tomorrow.push(last_day_today);
    assert_eq!(
        expired(&b, after(today, 1), 100).await,
        tomorrow,
        "tomorrow, today's last day is past too"
    );
}

/// A limit gives that many expired accounts (never an inactive one holding an
/// earlier date), in expiry order; a limit beyond their number gives them all.
pub async fn expired_on_respects_its_limit(b: Backend) {
    let today = base_day();
    create(
        &b,
        &expiring(AccountState::Inactive, Some(before(today, 900))),
    )
    .await;
    let mut due = Vec::new();
    for days in [500, 40, 300, 2, 90] {
        let stored = expiring(AccountState::Active, Some(before(today, days)));
        create(&b, &stored).await;
        due.push(stored);
    }
    create(&b, &expiring(AccountState::Active, Some(after(today, 3)))).await;
    due.sort_by_key(|a| a.expires_on);
    for limit in 1..due.len() {
        let some = expired(&b, today, limit).await;
        assert_eq!(some.len(), limit, "limit {limit}: {some:?}");
        assert!(
            some.iter().all(|a| due.contains(a)),
            "limit {limit} gave an account that is not expired: {some:?}"
        );
        assert_in_expiry_order(&some, &format!("limit {limit}"));
        let ids: BTreeSet<_> = some.iter().map(|a| a.id).collect();
        assert_eq!(ids.len(), limit, "limit {limit} gave an account twice");
    }
    assert_eq!(expired(&b, today, due.len()).await, due);
    assert_eq!(expired(&b, today, 50).await, due);
}

/// Every update moves the account in or out of the expired set: a last day
/// moved into the past or the future, an e-mail change while expired (still
/// listed once), a deactivation, a reactivation, a cleared last day, and the
/// rollover's own deactivation, after which nothing is left to do.
pub async fn expired_on_follows_every_update(b: Backend) {
    let today = base_day();
    let mut stored = expiring(AccountState::Active, Some(after(today, 30)));
    create(&b, &stored).await;
    let bystander = expiring(AccountState::Active, Some(after(today, 60)));
    create(&b, &bystander).await;
    assert_eq!(expired(&b, today, 10).await, []);

    type Change = fn(Account) -> Account;
    let steps: [(&str, Change, bool); 8] = [
        (
            "last day moved into the past",
            |a| Account {
                expires_on: Some(before(base_day(), 5)),
                ..a
            },
            true,
        ),
        (
            "last day moved to the future",
            |a| Account {
                expires_on: Some(after(base_day(), 5)),
                ..a
            },
            false,
        ),
        (
            "last day moved back into the past",
            |a| Account {
                expires_on: Some(before(base_day(), 50)),
                ..a
            },
            true,
        ),
        (
            "e-mail changed while expired",
            |a| Account {
                email: Email::parse(&format!("moved.{}@example.net", unique_word()))
                    .expect("the suite's e-mails are valid"),
                ..a
            },
            true,
        ),
        (
            "deactivated",
            |a| Account {
                state: AccountState::Inactive,
                ..a
            },
            false,
        ),
        (
            "reactivated",
            |a| Account {
                state: AccountState::Active,
                ..a
            },
            true,
        ),
        (
            "last day cleared",
            |a| Account {
                expires_on: None,
                ..a
            },
            false,
        ),
        (
            "last day set in the past again",
            |a| Account {
                expires_on: Some(before(base_day(), 2)),
                ..a
            },
            true,
        ),
    ];
    for (why, change, is_expired) in steps {
        stored = change(next_version(&stored));
        update(&b, &stored).await;
        let expected = if is_expired {
            vec![stored.clone()]
        } else {
            Vec::new()
        };
        assert_eq!(expired(&b, today, 10).await, expected, "{why}");
    }

    let deactivated = Account {
        state: AccountState::Inactive,
        ..next_version(&stored)
    };
    update(&b, &deactivated).await;
    assert_eq!(
        expired(&b, today, usize::MAX).await,
        [],
        "after the rollover's deactivation"
    );
    assert_eq!(
        expired(&b, after(today, 61), 10).await,
        [bystander],
        "the bystander, once its own last day is past"
    );
}
