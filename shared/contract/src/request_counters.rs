//! Cases of the counters of limited requests: requests are counted per kind
//! and key within a window, concurrently without losing any, apart from the
//! failed logins (counting a request never locks a login out, a failed login
//! never counts as a request, and neither purge removes the other's), and
//! purged once no window counts them. Times are passed explicitly.

use crate::login_attempts::{failures, purge as purge_failed_logins};
use crate::people::{plus, unique_word};
use crate::support::{now_ms, ten_concurrent_counts};
use crate::Backend;
use chrono::{DateTime, Duration, Utc};
use patron_hub_domain::accounts::{AccountId, AddressFlow, CountedRequest, Email};

/// An hour, the window most counters use.
fn hour() -> Duration {
    Duration::hours(1)
}

/// An e-mail address no other case uses.
fn email() -> Email {
    Email::parse(&format!("someone.{}@example.org", unique_word()))
        .expect("the suite's e-mails are valid")
}

/// Counts `request` at `at` within an hour, failing the case on a storage error.
async fn count(b: &Backend, request: &CountedRequest, at: DateTime<Utc>) -> u32 {
    count_within(b, request, at, hour()).await
}

/// Counts `request` at `at` within `window`, failing the case on a storage error.
async fn count_within(
    b: &Backend,
    request: &CountedRequest,
    at: DateTime<Utc>,
    window: Duration,
) -> u32 {
    (b.requests.count(request, at, window).await)
        .unwrap_or_else(|error| panic!("count of {request:?} failed: {error}"))
}

/// Each request is counted with the earlier ones still inside its window;
/// those before it are not. (A counter is always counted with one window.)
pub async fn requests_are_counted_within_their_window(b: Backend) {
    let (request, t) = (CountedRequest::PasswordReset(unique_word()), now_ms());
    assert_eq!(count(&b, &request, t).await, 1);
    assert_eq!(count(&b, &request, plus(t, 60)).await, 2);
    assert_eq!(count(&b, &request, plus(t, 120)).await, 3);
    assert_eq!(
        count(&b, &request, plus(t, 3600 + 30)).await,
        3,
        "the requests at t+60, t+120 and this one are in the window, t's is not"
    );
}

/// Each kind counts apart from every other, even over the same address or
/// account; an identifier counts whatever its case and surrounding spaces,
/// and an IPv6 address for its whole /64.
pub async fn kinds_and_keys_are_isolated(b: Backend) {
    let (address, t) = (email(), now_ms());
    let reset = CountedRequest::PasswordReset(address.as_str().to_owned());
    for second in 0..3 {
        count(&b, &reset, plus(t, second)).await;
    }
    let shouted = CountedRequest::PasswordReset(format!(" {} ", address.as_str().to_uppercase()));
    assert_eq!(count(&b, &shouted, plus(t, 3)).await, 4);
    assert_eq!(
        count(&b, &CountedRequest::Registration(address.clone()), t).await,
        1
    );
    assert_eq!(
        count(&b, &CountedRequest::EmailChangeTo(address.clone()), t).await,
        1
    );
    let account = AccountId::new();
    assert_eq!(
        count(&b, &CountedRequest::EmailChangeOf(account), t).await,
        1
    );
    assert_eq!(
        count(&b, &CountedRequest::EmailChangeOf(AccountId::new()), t).await,
        1
    );
    let from = |flow, address: &str| CountedRequest::Address {
        flow,
        address: address.parse().expect("a valid address"),
    };
    let v6 = format!("2001:db8:{:x}:1::", t.timestamp_subsec_millis());
    let client = from(AddressFlow::Login, &format!("{v6}7"));
    assert_eq!(count(&b, &client, t).await, 1);
    let neighbour = from(AddressFlow::Login, &format!("{v6}8"));
    assert_eq!(count(&b, &neighbour, t).await, 2, "one /64 is one client");
    let other_flow = from(AddressFlow::Registration, &format!("{v6}7"));
    assert_eq!(count(&b, &other_flow, t).await, 1);
}

/// Counting requests never counts a failed login under any key, so no limited
/// request can lock a login out; failed logins recorded under a request's own
/// key never count as requests either.
pub async fn requests_and_failed_logins_never_count_for_each_other(b: Backend) {
    let t = now_ms();
    let address = email();
    let requests = [
        CountedRequest::PasswordReset(address.as_str().to_owned()),
        CountedRequest::Registration(address.clone()),
        CountedRequest::EmailChangeTo(address.clone()),
        CountedRequest::Address {
            flow: AddressFlow::Login,
            address: "198.51.100.7".parse().expect("a valid address"),
        },
    ];
    for request in &requests {
        for second in 0..12 {
            count(&b, request, plus(t, second)).await;
        }
    }
    let since = plus(t, -900);
    for identifier in requests
        .iter()
        .map(CountedRequest::key)
        .chain([address.as_str().to_owned(), format!("login:{address}")])
    {
        assert_eq!(failures(&b, &identifier, since).await, 0, "{identifier}");
    }
    let other = CountedRequest::PasswordReset(unique_word());
    for second in 0..12 {
        let recorded = b
            .attempts
            .record_failure(&other.key(), plus(t, second), since)
            .await;
        if let Err(error) = recorded {
            panic!("record_failure failed: {error}");
        }
    }
    assert_eq!(count(&b, &other, plus(t, 20)).await, 1);
    if let Err(error) = b.attempts.clear(&other.key()).await {
        panic!("clear failed: {error}");
    }
    assert_eq!(
        count(&b, &other, plus(t, 21)).await,
        2,
        "clear is the logins'"
    );
}

/// Ten concurrent counts of one request are all kept: each returns a count
/// from 1 to 10 and the last to finish sees all ten.
pub async fn concurrent_counts_are_all_kept(b: Backend) {
    let (request, t) = (CountedRequest::Registration(email()), now_ms());
    ten_concurrent_counts(|i| {
        let (requests, request) = (b.requests.clone(), request.clone());
        async move { requests.count(&request, plus(t, i), hour()).await }
    })
    .await;
    assert_eq!(count(&b, &request, plus(t, 10)).await, 11);
}

/// Counts, and unless `dry_run` purges, the requests no window reaching `now` counts.
async fn purge(b: &Backend, now: DateTime<Utc>, dry_run: bool) -> u64 {
    (b.requests.purge_expired(now, dry_run).await)
        .unwrap_or_else(|error| panic!("purge_expired failed: {error}"))
}

/// A flood of keys counted once and never again is purged once its window
/// has passed (a dry run only counts), exactly: a request counted with a
/// longer window, or later, stays; a second purge finds nothing; the failed
/// logins' purge neither counts nor removes requests, and this one neither
/// counts nor removes failed logins.
pub async fn purge_expired_removes_what_no_window_counts_any_more(b: Backend) {
    let t = now_ms();
    let flood: Vec<CountedRequest> = (0..30)
        .map(|_| CountedRequest::PasswordReset(unique_word()))
        .collect();
    for request in &flood {
        count(&b, request, t).await;
    }
    let (daily, later) = (CountedRequest::Registration(email()), email());
    count_within(&b, &daily, t, Duration::days(1)).await;
    let later = CountedRequest::EmailChangeTo(later);
    count(&b, &later, plus(t, 120)).await;
    let failed_login = format!("login:{}", unique_word());
    (b.attempts
        .record_failure(&failed_login, t, plus(t, -3600))
        .await)
        .unwrap_or_else(|error| panic!("record_failure failed: {error}"));

    let past_window = plus(t, 3600 + 1);
    assert_eq!(purge(&b, past_window, true).await, 30, "the dry run counts");
    assert_eq!(count(&b, &flood[0], plus(t, 2)).await, 2, "and keeps");
    assert_eq!(
        purge_failed_logins(&b, past_window, true).await,
        1,
        "the failed logins' purge counts only the failed login"
    );
    assert_eq!(purge(&b, past_window, false).await, 30);
    assert_eq!(purge(&b, past_window, false).await, 0, "nothing twice");
    assert_eq!(
        failures(&b, &failed_login, plus(t, -1)).await,
        1,
        "the requests' purge leaves the failed logins"
    );
    for request in &flood[1..] {
        assert_eq!(
            count(&b, request, plus(t, 3600)).await,
            1,
            "{request:?} left"
        );
    }
    assert_eq!(
        count(&b, &later, plus(t, 3600)).await,
        2,
        "its window is later"
    );
    assert_eq!(
        count_within(&b, &daily, plus(t, 3600), Duration::days(1)).await,
        2,
        "its window is a day"
    );
    assert_eq!(purge_failed_logins(&b, past_window, false).await, 1);
    // Left: flood[0] at t+2, the 29 counted again, `later` twice, `daily` twice.
    assert_eq!(purge(&b, plus(t, 3 * 86_400), false).await, 34);
}
