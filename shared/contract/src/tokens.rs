//! Cases of the single-use token store: a token is given back once, intact, only
//! before it expires, a password reset can revoke every token of one account, and
//! the daily rollover purges exactly the expired ones still stored.
//! The store is given `now`, so these cases pass explicit times and never wait.

use crate::people::{email, plus, token_hash};
use crate::support::now_ms;
use crate::Backend;
use chrono::{DateTime, TimeDelta, Utc};
use patron_hub_domain::accounts::{AccountId, TokenHash, TokenPurpose, TokenRecord};

/// A token of `account` for `purpose`, issued at `issued_at`, valid for 30 minutes.
fn token(account: AccountId, purpose: TokenPurpose, issued_at: DateTime<Utc>) -> TokenRecord {
    TokenRecord {
        hash: token_hash(),
        account_id: account,
        purpose,
        issued_at,
        expires_at: plus(issued_at, 1_800),
    }
}

/// A password-reset token of a new account, issued half an hour before `expires_at`.
fn expiring(expires_at: DateTime<Utc>) -> TokenRecord {
    TokenRecord {
        expires_at,
        ..token(
            AccountId::new(),
            TokenPurpose::PasswordReset,
            expires_at - TimeDelta::minutes(30),
        )
    }
}

/// An instant a day from now: what the purge cases call "now", so that none of
/// their tokens has really expired, whatever clean-up a backend does on its own.
fn purge_time() -> DateTime<Utc> {
    plus(now_ms(), 86_400)
}

/// Purges (or counts, on a dry run), failing the case on a storage error.
async fn purge(b: &Backend, now: DateTime<Utc>, dry_run: bool) -> u64 {
    match b.tokens.purge_expired(now, dry_run).await {
        Ok(count) => count,
        Err(error) => panic!("purge_expired({now}, dry run {dry_run}) failed: {error}"),
    }
}

/// Issues, failing the case on a storage error.
async fn issue(b: &Backend, record: &TokenRecord) {
    if let Err(error) = b.tokens.issue(record).await {
        panic!("issue of a token failed: {error}");
    }
}

/// Consumes, failing the case on a storage error.
async fn consume(b: &Backend, hash: &TokenHash, now: DateTime<Utc>) -> Option<TokenRecord> {
    match b.tokens.consume(hash, now).await {
        Ok(record) => record,
        Err(error) => panic!("consume of a token failed: {error}"),
    }
}

/// Revokes, failing the case on a storage error.
async fn revoke_all(b: &Backend, account: AccountId) {
    if let Err(error) = b.tokens.revoke_all(account).await {
        panic!("revoke_all of {account} failed: {error}");
    }
}

/// Each token (of every purpose) is given back intact by its first use and is
/// None afterwards; an unknown hash is None.
pub async fn issued_token_is_consumed_once(b: Backend) {
    let (account, t) = (AccountId::new(), now_ms());
    let purposes = [
        TokenPurpose::Activation,
        TokenPurpose::PasswordReset,
        TokenPurpose::EmailChange {
            new_email: email("Nouvelle.Adresse@Example.org"),
        },
    ];
    let records: Vec<_> = purposes.into_iter().map(|p| token(account, p, t)).collect();
    for record in &records {
        issue(&b, record).await;
    }
    for record in &records {
        assert_eq!(
            consume(&b, &record.hash, plus(t, 60)).await.as_ref(),
            Some(record)
        );
        assert_eq!(
            consume(&b, &record.hash, plus(t, 61)).await,
            None,
            "a token used twice"
        );
    }
    assert_eq!(
        consume(&b, &token_hash(), t).await,
        None,
        "an unknown token"
    );
}

/// Ten concurrent uses of one token: exactly one gets the record.
pub async fn concurrent_consumes_give_one_record(b: Backend) {
    let t = now_ms();
    let record = token(AccountId::new(), TokenPurpose::PasswordReset, t);
    issue(&b, &record).await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (tokens, hash) = (b.tokens.clone(), record.hash.clone());
            tokio::spawn(async move { tokens.consume(&hash, plus(t, 1)).await })
        })
        .collect();
    let mut given = Vec::new();
    for result in futures::future::join_all(tasks).await {
        match result.expect("a consuming task panicked") {
            Ok(Some(found)) => given.push(found),
            Ok(None) => {}
            Err(error) => panic!("a concurrent consume failed: {error}"),
        }
    }
    assert_eq!(
        given,
        vec![record],
        "exactly one concurrent use may succeed"
    );
}

/// A token is worthless from its `expires_at` on (still stored or not): used at
/// that instant or later it is None; the instant before, it still works.
pub async fn expired_token_is_not_consumed(b: Backend) {
    let t = now_ms();
    let late = token(AccountId::new(), TokenPurpose::Activation, t);
    issue(&b, &late).await;
    assert_eq!(
        consume(&b, &late.hash, plus(late.expires_at, 1)).await,
        None
    );
    let on_the_dot = token(AccountId::new(), TokenPurpose::PasswordReset, t);
    issue(&b, &on_the_dot).await;
    assert_eq!(
        consume(&b, &on_the_dot.hash, on_the_dot.expires_at).await,
        None
    );
    let just_in_time = token(AccountId::new(), TokenPurpose::PasswordReset, t);
    issue(&b, &just_in_time).await;
    let moment_before = just_in_time.expires_at - chrono::TimeDelta::milliseconds(1);
    assert_eq!(
        consume(&b, &just_in_time.hash, moment_before)
            .await
            .as_ref(),
        Some(&just_in_time)
    );
}

/// `revoke_all` removes every outstanding token of one account and no other's.
pub async fn revoke_all_removes_only_that_accounts_tokens(b: Backend) {
    let (reset, bystander, t) = (AccountId::new(), AccountId::new(), now_ms());
    let revoked = [
        token(reset, TokenPurpose::PasswordReset, t),
        token(reset, TokenPurpose::PasswordReset, plus(t, 1)),
        token(reset, TokenPurpose::Activation, plus(t, 2)),
    ];
    let kept = token(bystander, TokenPurpose::PasswordReset, t);
    for record in revoked.iter().chain([&kept]) {
        issue(&b, record).await;
    }
    revoke_all(&b, reset).await;
    for record in &revoked {
        assert_eq!(
            consume(&b, &record.hash, plus(t, 10)).await,
            None,
            "a revoked token"
        );
    }
    assert_eq!(
        consume(&b, &kept.hash, plus(t, 10)).await.as_ref(),
        Some(&kept)
    );
    revoke_all(&b, AccountId::new()).await;
}

/// A purge counts exactly the tokens whose expiry is before `now` (not one
/// expiring at `now`); a dry run counts them and removes nothing, the purge
/// removes them, and a second purge finds none. Purged tokens are gone even
/// for a use dated before their expiry; the others are still usable, intact.
pub async fn purge_expired_counts_then_removes_exactly_the_expired_tokens(b: Backend) {
    let now = purge_time();
    let at = |milliseconds| now + TimeDelta::milliseconds(milliseconds);
    let expired = [expiring(at(-3_600_000)), expiring(at(-1))];
    let valid = [expiring(now), expiring(at(1)), expiring(at(1_800_000))];
    for record in expired.iter().chain(&valid) {
        issue(&b, record).await;
    }
    assert_eq!(purge(&b, now, true).await, 2, "a dry run");
    assert_eq!(purge(&b, now, true).await, 2, "a second dry run");
    assert_eq!(
        purge(&b, at(-1), true).await,
        1,
        "a dry run at the instant the second one expires"
    );
    assert_eq!(
        purge(&b, now, false).await,
        2,
        "the purge, after dry runs that removed nothing"
    );
    assert_eq!(purge(&b, now, false).await, 0, "purging twice");
    assert_eq!(purge(&b, now, true).await, 0, "a dry run after the purge");
    for record in &expired {
        assert_eq!(
            consume(&b, &record.hash, record.issued_at).await,
            None,
            "a purged token"
        );
    }
    for record in &valid {
        assert_eq!(
            consume(&b, &record.hash, record.issued_at).await.as_ref(),
            Some(record),
            "a token not yet expired at the purge"
        );
    }
}

/// Tokens already used or revoked are not tokens any more: once they would have
/// expired, the purge neither counts nor finds them; only the expired token
/// nobody touched is purged.
pub async fn used_and_revoked_tokens_are_not_purged(b: Backend) {
    let now = purge_time();
    let expires_at = now - TimeDelta::seconds(1);
    let used = expiring(expires_at);
    let reset = AccountId::new();
    let revoked = [
        TokenRecord {
            account_id: reset,
            ..expiring(expires_at)
        },
        TokenRecord {
            account_id: reset,
            ..expiring(expires_at)
        },
    ];
    let forgotten = expiring(expires_at);
    for record in revoked.iter().chain([&used, &forgotten]) {
        issue(&b, record).await;
    }
    assert_eq!(
        consume(&b, &used.hash, used.issued_at).await.as_ref(),
        Some(&used)
    );
    revoke_all(&b, reset).await;
    assert_eq!(purge(&b, now, true).await, 1, "a dry run");
    assert_eq!(purge(&b, now, false).await, 1, "the purge");
    assert_eq!(purge(&b, now, false).await, 0, "purging twice");
    assert_eq!(
        consume(&b, &forgotten.hash, forgotten.issued_at).await,
        None,
        "the purged token"
    );
}

/// A token is found, as often as asked, until it is used or expires, and
/// finding it never uses it.
pub async fn find_shows_a_working_token_without_using_it(b: Backend) {
    let t = now_ms();
    let record = token(AccountId::new(), TokenPurpose::Activation, t);
    issue(&b, &record).await;
    let find = |hash: TokenHash, now| {
        let tokens = b.tokens.clone();
        async move {
            match tokens.find(&hash, now).await {
                Ok(found) => found,
                Err(error) => panic!("find of a token failed: {error}"),
            }
        }
    };
    for _ in 0..2 {
        assert_eq!(
            find(record.hash.clone(), plus(t, 60)).await.as_ref(),
            Some(&record)
        );
    }
    assert_eq!(
        find(record.hash.clone(), plus(t, 1_800)).await,
        None,
        "not at its expiry"
    );
    assert_eq!(find(token_hash(), t).await, None, "an unknown token");
    assert_eq!(
        consume(&b, &record.hash, plus(t, 60)).await.as_ref(),
        Some(&record),
        "finding did not use it"
    );
    assert_eq!(
        find(record.hash.clone(), plus(t, 61)).await,
        None,
        "a used token"
    );
}
