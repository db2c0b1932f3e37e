//! Cases of the operations time series: counters per institution and
//! 10-minute bucket, added concurrently by several processes, kept 30 days.
//! Each case uses an institution of its own, so backends shared between
//! cases (or runs) never mix their counts.

use crate::support::now_ms;
use crate::Backend;
use chrono::{DateTime, TimeDelta, Utc};
use patron_hub_domain::operations::{bucket_start, Bucket, Tally, BUCKET};
use patron_hub_domain::InstitutionCode;
use std::time::Duration;

/// An institution no other case (nor run) counts in.
fn own_institution() -> InstitutionCode {
    let code = format!("OPS_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    InstitutionCode::parse(&code).expect("a valid institution code")
}

async fn add(b: &Backend, institution: &InstitutionCode, at: DateTime<Utc>, tally: Tally) {
    if let Err(error) = b.operations.add(institution, at, tally).await {
        panic!("add of {tally:?} failed: {error}");
    }
}

async fn buckets(
    b: &Backend,
    institution: &InstitutionCode,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<Bucket> {
    b.operations
        .buckets(institution, since, now)
        .await
        .expect("buckets are read")
}

fn applied(seconds: u64) -> Tally {
    Tally::Applied {
        lag: Some(Duration::from_secs(seconds)),
    }
}

/// Every tally counts in its institution's bucket, one bucket per 10 minutes.
pub async fn tallies_add_up_per_bucket_and_institution(b: Backend) {
    let (mine, other) = (own_institution(), own_institution());
    let now = now_ms();
    let first = bucket_start(now) - BUCKET * 3;
    for tally in [applied(0), applied(2), applied(2), applied(40)] {
        add(&b, &mine, first + TimeDelta::seconds(5), tally).await;
    }
    add(
        &b,
        &mine,
        first + TimeDelta::seconds(599),
        Tally::DeadLettered,
    )
    .await;
    add(&b, &mine, first, Tally::AlmaThrottled).await;
    add(&b, &mine, first, Tally::AlmaThrottled).await;
    add(&b, &mine, first, Tally::AlmaFailed).await;
    add(&b, &mine, first + BUCKET, Tally::Applied { lag: None }).await;
    add(&b, &other, first, Tally::DeadLettered).await;

    let found = buckets(&b, &mine, first - BUCKET, now).await;
    assert_eq!(found.len(), 2, "{found:?}");
    let (one, two) = (&found[0], &found[1]);
    assert_eq!((one.start, two.start), (first, first + BUCKET));
    assert_eq!((one.applied, one.dead_lettered), (4, 1));
    assert_eq!((one.alma_429, one.alma_5xx), (2, 1));
    assert_eq!(one.lag_quantile(0.5), Some(Duration::from_secs(5)));
    assert_eq!(one.lag_quantile(0.95), Some(Duration::from_secs(60)));
    assert_eq!((two.applied, two.lag_quantile(0.5)), (1, None));

    let later = buckets(&b, &mine, first + BUCKET, now).await;
    assert_eq!(later.len(), 1, "since excludes earlier buckets: {later:?}");
    let others = buckets(&b, &other, first - BUCKET, now).await;
    assert_eq!(others.len(), 1);
    assert_eq!((others[0].dead_lettered, others[0].applied), (1, 0));
}

/// Buckets older than 30 days are never answered, and a purge keeps the rest.
pub async fn buckets_older_than_thirty_days_are_never_answered(b: Backend) {
    let institution = own_institution();
    let now = now_ms();
    add(
        &b,
        &institution,
        now - TimeDelta::days(31),
        Tally::DeadLettered,
    )
    .await;
    add(
        &b,
        &institution,
        now - TimeDelta::days(29),
        Tally::DeadLettered,
    )
    .await;
    add(&b, &institution, now, Tally::AlmaFailed).await;

    let found = buckets(&b, &institution, now - TimeDelta::days(40), now).await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].start, bucket_start(now - TimeDelta::days(29)));
    b.operations.purge(now).await.expect("purge");
    let kept = buckets(&b, &institution, now - TimeDelta::days(40), now).await;
    assert_eq!(kept, found, "the purge kept the last 30 days");
}

/// Concurrent adds to one bucket (several workers at once) are all counted.
pub async fn concurrent_adds_are_all_counted(b: Backend) {
    let institution = own_institution();
    let now = now_ms();
    let adds = (0..20).map(|_| {
        let (b, institution) = (b.clone(), institution.clone());
        tokio::spawn(async move { add(&b, &institution, now, applied(1)).await })
    });
    for handle in adds.collect::<Vec<_>>() {
        handle.await.expect("an add finished");
    }
    let found = buckets(&b, &institution, bucket_start(now), now).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].applied, 20);
    assert_eq!(found[0].lag[0], 20);
}
