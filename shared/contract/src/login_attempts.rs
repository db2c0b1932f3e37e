//! Cases of the failed-login counter behind the lockout: failures are counted per
//! submitted identifier within a window, concurrently without losing any,
//! forgotten after a successful login, and purged once no window counts them.
//! Times are passed explicitly.

use crate::people::{plus, unique_word};
use crate::support::{now_ms, ten_concurrent_counts};
use crate::Backend;
use chrono::{DateTime, Utc};

/// The lockout window the cases count in (15 minutes).
const WINDOW: i64 = 900;

/// A submitted identifier no other case uses.
fn identifier() -> String {
    format!("someone.{}@example.org", unique_word())
}

/// Records a failure at `at`, counting since the window before it.
async fn fail(b: &Backend, who: &str, at: DateTime<Utc>) -> u32 {
    match b.attempts.record_failure(who, at, plus(at, -WINDOW)).await {
        Ok(count) => count,
        Err(error) => panic!("record_failure for {who} failed: {error}"),
    }
}

/// The failures of `who` since `since`, failing the case on a storage error.
pub(crate) async fn failures(b: &Backend, who: &str, since: DateTime<Utc>) -> u32 {
    match b.attempts.failures_since(who, since).await {
        Ok(count) => count,
        Err(error) => panic!("failures_since for {who} failed: {error}"),
    }
}

/// Each failure is counted with the earlier ones still inside the window; those
/// before `since` are not.
pub async fn failures_are_counted_within_the_window(b: Backend) {
    let (who, t) = (identifier(), now_ms());
    assert_eq!(failures(&b, &who, plus(t, -WINDOW)).await, 0);
    assert_eq!(fail(&b, &who, t).await, 1);
    assert_eq!(fail(&b, &who, plus(t, 60)).await, 2);
    assert_eq!(fail(&b, &who, plus(t, 120)).await, 3);
    assert_eq!(failures(&b, &who, plus(t, -1)).await, 3);
    assert_eq!(failures(&b, &who, plus(t, 30)).await, 2);
    assert_eq!(failures(&b, &who, plus(t, 121)).await, 0);
    assert_eq!(
        fail(&b, &who, plus(t, WINDOW + 90)).await,
        2,
        "the failures at t+60 and t+120 are still in the window, t's is not"
    );
}

/// `clear` forgets every failure of one identifier, and counting starts again.
pub async fn clear_forgets_the_failures(b: Backend) {
    let (who, t) = (identifier(), now_ms());
    for second in 0..4 {
        fail(&b, &who, plus(t, second)).await;
    }
    if let Err(error) = b.attempts.clear(&who).await {
        panic!("clear failed: {error}");
    }
    assert_eq!(failures(&b, &who, plus(t, -WINDOW)).await, 0);
    assert_eq!(fail(&b, &who, plus(t, 10)).await, 1);
    if let Err(error) = b.attempts.clear(&identifier()).await {
        panic!("clear of an identifier never seen failed: {error}");
    }
}

/// One identifier's failures (or its clearing) never count for another, even one
/// differing only in case.
pub async fn identifiers_are_isolated(b: Backend) {
    let (who, t) = (identifier(), now_ms());
    let other = identifier();
    let shouted = who.to_uppercase();
    for second in 0..3 {
        fail(&b, &who, plus(t, second)).await;
    }
    fail(&b, &other, t).await;
    assert_eq!(failures(&b, &who, plus(t, -1)).await, 3);
    assert_eq!(failures(&b, &other, plus(t, -1)).await, 1);
    assert_eq!(failures(&b, &shouted, plus(t, -1)).await, 0);
    if let Err(error) = b.attempts.clear(&other).await {
        panic!("clear failed: {error}");
    }
    assert_eq!(failures(&b, &who, plus(t, -1)).await, 3);
}

/// Ten concurrent failures of one identifier are all counted: none is lost, so
/// each returns a count from 1 to 10 and the last to finish sees all ten.
pub async fn concurrent_failures_are_all_counted(b: Backend) {
    let (who, t) = (identifier(), now_ms());
    ten_concurrent_counts(|i| {
        let (attempts, who) = (b.attempts.clone(), who.clone());
        async move {
            attempts
                .record_failure(&who, plus(t, i), plus(t, -WINDOW))
                .await
        }
    })
    .await;
    assert_eq!(failures(&b, &who, plus(t, -1)).await, 10);
}

/// Counts, and unless `dry_run` purges, what no window reaching `now` counts.
pub(crate) async fn purge(b: &Backend, now: DateTime<Utc>, dry_run: bool) -> u64 {
    match b.attempts.purge_expired(now, dry_run).await {
        Ok(count) => count,
        Err(error) => panic!("purge_expired failed: {error}"),
    }
}

/// A flood of identifiers tried once and never again is purged once its
/// window has passed (a dry run only counts), exactly: a failure recorded
/// with a longer window, or later, stays; cleared failures are not counted;
/// a second purge finds nothing.
pub async fn purge_expired_removes_what_no_window_counts_any_more(b: Backend) {
    let t = now_ms();
    let flood: Vec<String> = (0..30).map(|_| identifier()).collect();
    for who in &flood {
        fail(&b, who, t).await;
    }
    let cleared = identifier();
    fail(&b, &cleared, t).await;
    if let Err(error) = b.attempts.clear(&cleared).await {
        panic!("clear failed: {error}");
    }
    let (hourly, later) = (identifier(), identifier());
    if let Err(error) = b.attempts.record_failure(&hourly, t, plus(t, -3600)).await {
        panic!("record_failure failed: {error}");
    }
    fail(&b, &later, plus(t, 120)).await;

    let past_window = plus(t, WINDOW + 1);
    assert_eq!(purge(&b, past_window, true).await, 30, "the dry run counts");
    assert_eq!(failures(&b, &flood[0], plus(t, -1)).await, 1, "and keeps");
    assert_eq!(purge(&b, past_window, false).await, 30);
    for who in &flood {
        assert_eq!(failures(&b, who, plus(t, -WINDOW)).await, 0, "{who} left");
    }
    assert_eq!(purge(&b, past_window, false).await, 0, "nothing twice");
    assert_eq!(
        failures(&b, &hourly, plus(t, -1)).await,
        1,
        "its window is an hour"
    );
    assert_eq!(failures(&b, &later, plus(t, 119)).await, 1);
    assert_eq!(purge(&b, plus(t, 3600 + 1), false).await, 2);
    assert_eq!(failures(&b, &hourly, plus(t, -1)).await, 0);
}
