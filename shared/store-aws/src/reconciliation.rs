//! The runs of backfills and reconciles on DynamoDB, and what a reconcile
//! read and found:
//! - the run (`RUN#{id}` / `RUN`): the run as JSON and its `version`. The
//!   first save creates it (`attribute_not_exists`) in one transaction with
//!   its entry in its kind's listing (`RUNS#{kind}` /
//!   `{started_at}#{id}`, naming the run), so that `recent_runs` is one
//!   Query of the listing read backwards and one BatchGetItem of the runs.
//!   Later saves are one PutItem conditioned on the version before. A run's
//!   kind and start are those of its first save (the listing never moves);
//! - the versions (`RUNVERSIONS#{run}` / `{primary_id}␁{institution}`) and
//!   the differences (`RUNDRIFT#{run}` /
//!   `{primary_id}␁{institution}␁{kind}`), one partition per run, written
//!   25 to a BatchWriteItem and read by Query in sort-key order, following
//!   `LastEvaluatedKey` past each page. The separator U+0001 sorts below
//!   every character a primary id may hold (see `keys::version_sk`).
//!
//! Every item expires (`expires_at`): a run and its listing entry 400 days
//! after the run started, a difference 400 days after it was kept, a version
//! 7 days after it was kept (a reconcile forgets its versions once it has
//! compared them; one stopped for longer than that has lost some of them,
//! and must start again rather than resume).

use crate::error::{conditional, unavailable};
use crate::item::{json, key, n, primary_key, s, text, to_json, Item};
use crate::keys::{
    difference_sk, epoch_seconds, later, run_drift_pk, run_listing_sk, run_pk, run_versions_pk,
    runs_pk, version_sk, versions_past, EXPIRES_AT, RUN_SK,
};
use crate::transact::{self, Condition, Outcome, ABSENT};
use crate::AwsStore;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use patron_hub_domain::reconciliation::{
    Difference, DriftKind, ReadVersion, ReconciliationStore, Run, RunKind, RunWriteError,
};
use patron_hub_domain::{InstitutionCode, PrimaryId, StoreError};
use std::collections::HashMap;
use std::time::Duration;

/// The attribute holding the run as JSON.
const RUN: &str = "run";
/// The attribute holding the run's version.
const VERSION: &str = "version";
/// The attribute of a listing entry naming its run.
const RUN_ID: &str = "run_id";
/// The attribute holding a version read, as JSON.
const READ: &str = "read";
/// The attribute holding a difference, as JSON.
const DIFFERENCE: &str = "difference";

/// How long a run (and its listing entry) is kept after it started.
const RUN_LIFETIME: Duration = Duration::from_secs(400 * 24 * 60 * 60);
/// How long a difference is kept after it was found.
const DIFFERENCE_LIFETIME: Duration = Duration::from_secs(400 * 24 * 60 * 60);
/// How long a version is kept after it was read.
const VERSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The most items one Query is asked for (DynamoDB also stops at 1 MB).
const QUERY_LIMIT: usize = 1_000;

/// A key range of one partition, read in sort-key order.
struct Range {
    /// The partition.
    pk: String,
    /// Only sort keys above this one, if any.
    after: Option<String>,
    /// Whether the sort keys ascend (or descend).
    forward: bool,
}

/// The TTL value of an item expiring `lifetime` after `from`.
fn expiry(from: DateTime<Utc>, lifetime: Duration) -> AttributeValue {
    n(epoch_seconds(later(from, lifetime)))
}

/// The run item.
fn run_item(run: &Run) -> Result<Item, StoreError> {
    let mut item = key(run_pk(&run.id), RUN_SK);
    item.insert(RUN.to_owned(), s(to_json(run)?));
    item.insert(VERSION.to_owned(), n(run.version));
    item.insert(EXPIRES_AT.to_owned(), expiry(run.started_at, RUN_LIFETIME));
    Ok(item)
}

/// The run's entry in its kind's listing.
fn listing_item(run: &Run) -> Item {
    let mut item = key(runs_pk(run.kind), run_listing_sk(run.started_at, &run.id));
    item.insert(RUN_ID.to_owned(), s(&run.id));
    item.insert(EXPIRES_AT.to_owned(), expiry(run.started_at, RUN_LIFETIME));
    item
}

/// The item of a version read by run `run_id`.
fn version_item(
    run_id: &str,
    version: &ReadVersion,
    now: DateTime<Utc>,
) -> Result<Item, StoreError> {
    let mut item = key(
        run_versions_pk(run_id),
        version_sk(&version.primary_id, &version.institution),
    );
    item.insert(READ.to_owned(), s(to_json(version)?));
    item.insert(EXPIRES_AT.to_owned(), expiry(now, VERSION_LIFETIME));
    Ok(item)
}

/// The item of a difference found by run `run_id`.
fn difference_item(
    run_id: &str,
    difference: &Difference,
    now: DateTime<Utc>,
) -> Result<Item, StoreError> {
    let mut item = key(
        run_drift_pk(run_id),
        difference_sk(
            &difference.primary_id,
            &difference.institution,
            difference.kind,
        ),
    );
    item.insert(DIFFERENCE.to_owned(), s(to_json(difference)?));
    item.insert(EXPIRES_AT.to_owned(), expiry(now, DIFFERENCE_LIFETIME));
    Ok(item)
}

/// A Query's `Limit` for `wanted` items.
fn query_limit(wanted: usize) -> i32 {
    i32::try_from(wanted.clamp(1, QUERY_LIMIT)).unwrap_or(1)
}

impl AwsStore {
    /// One page of at most `limit` items of `range`, from `start` (a
    /// `LastEvaluatedKey`), and where the next page starts, if anywhere.
    async fn page(
        &self,
        operation: &'static str,
        range: &Range,
        limit: usize,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let query = self
            .dynamodb
            .query()
            .table_name(&*self.table)
            .expression_attribute_values(":pk", s(&range.pk))
            .scan_index_forward(range.forward)
            .consistent_read(true)
            .limit(query_limit(limit))
            .set_exclusive_start_key(start);
        let query = match &range.after {
            Some(after) => query
                .key_condition_expression("pk = :pk AND sk > :after")
                .expression_attribute_values(":after", s(after)),
            None => query.key_condition_expression("pk = :pk"),
        };
        let output = query.send().await.map_err(|e| unavailable(operation, e))?;
        let next = output.last_evaluated_key.filter(|key| !key.is_empty());
        Ok((output.items.unwrap_or_default(), next))
    }

    /// The first `limit` items of `range`, over as many pages as it takes.
    async fn first_items(
        &self,
        operation: &'static str,
        range: &Range,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        while found.len() < limit {
            let (items, next) = self
                .page(operation, range, limit - found.len(), start)
                .await?;
            found.extend(items);
            match next {
                Some(key) => start = Some(key),
                None => break,
            }
        }
        found.truncate(limit);
        Ok(found)
    }

    /// The first save of a run: the run, if absent, with its listing entry.
    async fn create_run(&self, run: &Run) -> Result<(), RunWriteError> {
        let items = vec![
            transact::put(&self.table, run_item(run)?, Some(Condition::new(ABSENT)))?,
            transact::put(&self.table, listing_item(run), None)?,
        ];
        match self.transact("TransactWriteItems run", items).await? {
            Outcome::Written => Ok(()),
            // Only the run has a condition: refused means it exists.
            Outcome::Refused(_) => Err(RunWriteError::Overtaken),
        }
    }

    /// A later save of a run: the run, if its stored version is the one before.
    async fn move_run(&self, run: &Run, previous: u64) -> Result<(), RunWriteError> {
        let result = self
            .dynamodb
            .put_item()
            .table_name(&*self.table)
            .set_item(Some(run_item(run)?))
            .condition_expression("version = :previous")
            .expression_attribute_values(":previous", n(previous))
            .send()
            .await;
        match conditional("PutItem run", result)? {
            Some(_) => Ok(()),
            None => Err(RunWriteError::Overtaken),
        }
    }
}

#[async_trait]
impl ReconciliationStore for AwsStore {
    async fn save_run(&self, run: &Run) -> Result<(), RunWriteError> {
        match run.version.checked_sub(1) {
            None => Err(RunWriteError::Overtaken),
            Some(0) => self.create_run(run).await,
            Some(previous) => self.move_run(run, previous).await,
        }
    }

    async fn run(&self, id: &str) -> Result<Option<Run>, StoreError> {
        self.get_item("GetItem run", key(run_pk(id), RUN_SK))
            .await?
            .map(|item| json(&item, RUN))
            .transpose()
    }

    async fn recent_runs(&self, kind: RunKind, limit: usize) -> Result<Vec<Run>, StoreError> {
        let range = Range {
            pk: runs_pk(kind),
            after: None,
            forward: false,
        };
        let listed = self.first_items("Query run listing", &range, limit).await?;
        let ids = listed
            .iter()
            .map(|item| text(item, RUN_ID).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        let keys = ids.iter().map(|id| key(run_pk(id), RUN_SK)).collect();
        let mut runs: HashMap<String, Run> = self
            .get_many(keys)
            .await?
            .iter()
            .map(|item| json::<Run>(item, RUN).map(|run| (run.id.clone(), run)))
            .collect::<Result<_, _>>()?;
        // A run whose item expired before its listing entry is left out.
        Ok(ids.iter().filter_map(|id| runs.remove(id)).collect())
    }

    async fn keep_versions(
        &self,
        run_id: &str,
        versions: &[ReadVersion],
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let items = versions
            .iter()
            .map(|version| version_item(run_id, version, now))
            .collect::<Result<Vec<_>, _>>()?;
        self.put_many(items).await
    }

    async fn versions_after(
        &self,
        run_id: &str,
        after: Option<&PrimaryId>,
        patrons: usize,
    ) -> Result<Vec<ReadVersion>, StoreError> {
        let range = Range {
            pk: run_versions_pk(run_id),
            after: after.map(versions_past),
            forward: true,
        };
        let mut found: Vec<ReadVersion> = Vec::new();
        if patrons == 0 {
            return Ok(found);
        }
        let mut seen = 0;
        let mut start = None;
        loop {
            // Enough items for the patrons still wanted at the rate seen so
            // far, and one more, to see where the last of them ends.
            let per_patron = if seen == 0 {
                1
            } else {
                found.len().div_ceil(seen)
            };
            let wanted = (patrons - seen + 1).saturating_mul(per_patron);
            let (items, next) = self
                .page("Query run versions", &range, wanted, start)
                .await?;
            for item in &items {
                let version: ReadVersion = json(item, READ)?;
                let new_patron = found
                    .last()
                    .is_none_or(|last| last.primary_id != version.primary_id);
                if new_patron {
                    if seen == patrons {
                        return Ok(found);
                    }
                    seen += 1;
                }
                found.push(version);
            }
            match next {
                Some(key) => start = Some(key),
                None => return Ok(found),
            }
        }
    }

    async fn keep_differences(
        &self,
        run_id: &str,
        differences: &[Difference],
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let items = differences
            .iter()
            .map(|difference| difference_item(run_id, difference, now))
            .collect::<Result<Vec<_>, _>>()?;
        self.put_many(items).await
    }

    async fn differences(
        &self,
        run_id: &str,
        after: Option<(&PrimaryId, &InstitutionCode, DriftKind)>,
        limit: usize,
    ) -> Result<Vec<Difference>, StoreError> {
        let range = Range {
            pk: run_drift_pk(run_id),
            after: after
                .map(|(patron, institution, kind)| difference_sk(patron, institution, kind)),
            forward: true,
        };
        let items = self
            .first_items("Query run differences", &range, limit)
            .await?;
        items.iter().map(|item| json(item, DIFFERENCE)).collect()
    }

    async fn forget_versions(&self, run_id: &str) -> Result<(), StoreError> {
        let mut pages = self
            .dynamodb
            .query()
            .table_name(&*self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(run_versions_pk(run_id)))
            .projection_expression("pk, sk")
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| unavailable("Query run version keys", e))?;
            let keys = page.items().iter().map(primary_key).collect();
            self.delete_many(keys).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::number;
    use crate::keys::{PK, SK};
    use chrono::TimeZone;
    use patron_hub_domain::reconciliation::{Position, RunCounts};
    use std::collections::BTreeMap;

    fn run(started_at: DateTime<Utc>) -> Run {
        Run {
            id: "run-1".to_owned(),
            kind: RunKind::Reconcile,
            dry_run: false,
            only: None,
            institutions: Vec::new(),
            position: Position::Finished,
            counts: RunCounts::default(),
            by_institution: BTreeMap::new(),
            started_at,
            updated_at: started_at,
            finished_at: None,
            version: 3,
        }
    }

    #[test]
    fn a_run_and_its_listing_entry_expire_together_400_days_after_its_start() {
        let started = Utc.with_ymd_and_hms(2031, 1, 1, 8, 0, 0).unwrap();
        let run = run(started);
        let item = run_item(&run).unwrap();
        let entry = listing_item(&run);
        let expected = Utc
            .with_ymd_and_hms(2032, 2, 5, 8, 0, 0)
            .unwrap()
            .timestamp();
        assert_eq!(number::<i64>(&item, EXPIRES_AT).unwrap(), expected);
        assert_eq!(number::<i64>(&entry, EXPIRES_AT).unwrap(), expected);
        assert_eq!(number::<u64>(&item, VERSION).unwrap(), 3);
        assert_eq!(text(&entry, PK).unwrap(), "RUNS#reconcile");
        assert_eq!(text(&entry, RUN_ID).unwrap(), "run-1");
        assert_eq!(json::<Run>(&item, RUN).unwrap(), run);
    }

    #[test]
    fn versions_expire_a_week_after_they_were_read() {
        let now = Utc.with_ymd_and_hms(2031, 1, 1, 8, 0, 0).unwrap();
        let version = ReadVersion {
            primary_id: PrimaryId::parse("a#b").unwrap(),
            institution: InstitutionCode::parse("INST_A").unwrap(),
            modified: None,
            fields: serde_json::Map::new(),
        };
        let item = version_item("run-1", &version, now).unwrap();
        let expected = Utc
            .with_ymd_and_hms(2031, 1, 8, 8, 0, 0)
            .unwrap()
            .timestamp();
        assert_eq!(number::<i64>(&item, EXPIRES_AT).unwrap(), expected);
        assert_eq!(text(&item, PK).unwrap(), "RUNVERSIONS#run-1");
        assert_eq!(text(&item, SK).unwrap(), "a#b\u{1}INST_A");
        assert_eq!(json::<ReadVersion>(&item, READ).unwrap(), version);
    }

    #[test]
    fn query_limits_stay_within_what_dynamodb_accepts() {
        assert_eq!(query_limit(0), 1);
        assert_eq!(query_limit(7), 7);
        assert_eq!(query_limit(usize::MAX), 1_000);
    }
}
