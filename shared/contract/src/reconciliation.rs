//! Cases of the reconciliation store: a run is saved under optimistic
//! locking (a checkpoint two processes cannot both take) and read back
//! intact; runs are listed newest first per kind; the versions a reconcile
//! read are paged by whole patrons in primary-id order and the differences
//! it found by patron, institution and kind, whatever characters the
//! primary ids hold; forgetting a run's versions leaves everything else.

use crate::support::{institution, now_ms, patron};
use crate::Backend;
use chrono::{DateTime, TimeDelta, Utc};
use patron_hub_domain::reconciliation::{
    Difference, DriftKind, Position, ReadVersion, Run, RunCounts, RunKind, RunWriteError,
};
use patron_hub_domain::{InstitutionCode, PrimaryId};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// How many writers race in the concurrent case.
const RACERS: u64 = 10;

/// The most pages a case reads before calling the paging endless.
const MAX_PAGES: usize = 1_000;

/// When the sample records were last modified in Alma (a fixed time, so that
/// a sample built twice is equal).
const MODIFIED_MS: i64 = 1_767_225_600_123;

/// [`MODIFIED_MS`] moved by `offset` milliseconds.
fn modified(offset: usize) -> DateTime<Utc> {
    let offset = i64::try_from(offset).expect("a small offset");
    DateTime::from_timestamp_millis(MODIFIED_MS + offset).expect("a time in range")
}

/// A run id no other case uses.
fn run_id() -> String {
    format!("run-{}", uuid::Uuid::new_v4().simple())
}

/// Figures with every field set, each different, derived from `seed`.
fn counts(seed: u64) -> RunCounts {
    RunCounts {
        users_read: seed * 1_000 + 1,
        registry_entries_written: seed * 1_000 + 2,
        alma_calls: seed * 1_000 + 3,
        checked: seed * 1_000 + 4,
        missing: seed * 1_000 + 5,
        stale: seed * 1_000 + 6,
        unlinked: seed * 1_000 + 7,
        jobs_queued: seed * 1_000 + 8,
    }
}

/// A new run (version 1) of `kind` started at `started_at`, at `position`,
/// with every field filled so that a lossy round trip shows.
fn run(kind: RunKind, started_at: DateTime<Utc>, position: Position) -> Run {
    Run {
        id: run_id(),
        kind,
        dry_run: true,
        only: Some(institution(1)),
        institutions: vec![institution(2), institution(0), institution(1)],
        position,
        counts: counts(1),
        by_institution: BTreeMap::from([(institution(0), counts(2)), (institution(2), counts(3))]),
        started_at,
        updated_at: started_at + TimeDelta::milliseconds(1_234),
        finished_at: Some(started_at + TimeDelta::milliseconds(98_765)),
        version: 1,
    }
}

/// A reconcile started now, listing its first page.
fn fresh_run() -> Run {
    run(
        RunKind::Reconcile,
        now_ms(),
        Position::Listing {
            institution: 0,
            category: 0,
            offset: 0,
        },
    )
}

/// `previous` as its next save would write it, with `change` applied.
fn next(previous: &Run, change: impl FnOnce(&mut Run)) -> Run {
    let mut run = previous.clone();
    run.version = previous.version + 1;
    run.updated_at = previous.updated_at + TimeDelta::milliseconds(1);
    change(&mut run);
    run
}

/// Saves, failing the case on any error.
async fn save(b: &Backend, run: &Run) {
    if let Err(error) = b.reconciliation.save_run(run).await {
        panic!(
            "save of run {} version {} failed: {error}",
            run.id, run.version
        );
    }
}

/// Fails unless `result` is Overtaken.
fn assert_overtaken(result: Result<(), RunWriteError>, why: &str) {
    match result {
        Err(RunWriteError::Overtaken) => {}
        Err(RunWriteError::Store(error)) => panic!("{why}: storage failed: {error}"),
        Ok(()) => panic!("{why}: expected Overtaken, the save succeeded"),
    }
}

/// One run, failing the case on a storage error.
async fn get(b: &Backend, id: &str) -> Option<Run> {
    match b.reconciliation.run(id).await {
        Ok(run) => run,
        Err(error) => panic!("run({id}) failed: {error}"),
    }
}

/// The recent runs of `kind`, failing the case on a storage error.
async fn recent(b: &Backend, kind: RunKind, limit: usize) -> Vec<Run> {
    match b.reconciliation.recent_runs(kind, limit).await {
        Ok(runs) => runs,
        Err(error) => panic!("recent_runs({kind:?}, {limit}) failed: {error}"),
    }
}

/// A patron whose primary id is `text`.
fn primary_id(text: &str) -> PrimaryId {
    PrimaryId::parse(text).unwrap_or_else(|_| panic!("{text:?} is a valid primary id"))
}

/// Patrons `{prefix}-0` … `{prefix}-{count - 1}` of one new prefix, sorted
/// (zero-padded, so their order is their number's).
fn patrons(count: usize) -> Vec<PrimaryId> {
    let prefix = patron();
    (0..count)
        .map(|n| primary_id(&format!("{prefix}-{n:04}")))
        .collect()
}

/// The fingerprints of a record (ten distributed fields), derived from `seed`.
fn fields(seed: &str) -> Map<String, Value> {
    [
        "first_name",
        "last_name",
        "user_group",
        "job_category",
        "status",
        "expiry_date",
        "purge_date",
        "contact_info",
        "user_identifier",
        "user_statistic",
    ]
    .iter()
    .map(|field| {
        let print = format!("{seed}/{field}");
        ((*field).to_owned(), Value::String(print))
    })
    .collect()
}

/// The version of `patron` read in `institution`, its fields derived from `seed`.
fn version(patron: &PrimaryId, institution: &InstitutionCode, seed: &str) -> ReadVersion {
    ReadVersion {
        primary_id: patron.clone(),
        institution: institution.clone(),
        modified: (!seed.ends_with('0')).then(|| modified(seed.len())),
        fields: fields(seed),
    }
}

/// Keeps versions, failing the case on a storage error.
async fn keep_versions(b: &Backend, run_id: &str, versions: &[ReadVersion]) {
    if let Err(error) = b.reconciliation.keep_versions(run_id, versions).await {
        panic!(
            "keep_versions of {} versions failed: {error}",
            versions.len()
        );
    }
}

/// One page of versions, failing the case on a storage error.
async fn versions_after(
    b: &Backend,
    run_id: &str,
    after: Option<&PrimaryId>,
    patrons: usize,
) -> Vec<ReadVersion> {
    match b
        .reconciliation
        .versions_after(run_id, after, patrons)
        .await
    {
        Ok(versions) => versions,
        Err(error) => panic!("versions_after({after:?}, {patrons}) failed: {error}"),
    }
}

/// Versions in (patron, institution) order: the order within one patron is
/// not promised.
fn sorted_versions(mut versions: Vec<ReadVersion>) -> Vec<ReadVersion> {
    versions.sort_by(|a, b| (&a.primary_id, &a.institution).cmp(&(&b.primary_id, &b.institution)));
    versions
}

/// Reads every page of a run's versions, `patrons` patrons at a time, each
/// page after the last patron of the one before, and checks that each page
/// is exactly the next `patrons` whole patrons of `expected`, in primary-id
/// order, and that the page after the last patron is empty.
async fn assert_version_pages(b: &Backend, run_id: &str, patrons: usize, expected: &[ReadVersion]) {
    let expected = sorted_versions(expected.to_vec());
    let mut by_patron: Vec<Vec<ReadVersion>> = Vec::new();
    for version in expected {
        match by_patron.last_mut() {
            Some(group) if group[0].primary_id == version.primary_id => group.push(version),
            _ => by_patron.push(vec![version]),
        }
    }
    let mut wanted = by_patron.chunks(patrons);
    let mut after: Option<PrimaryId> = None;
    for number in 0..MAX_PAGES {
        let page = versions_after(b, run_id, after.as_ref(), patrons).await;
        let ids: Vec<&PrimaryId> = page.iter().map(|v| &v.primary_id).collect();
        assert!(
            ids.windows(2).all(|pair| pair[0] <= pair[1]),
            "page {number} by {patrons} after {after:?} is not in primary-id order: {ids:?}"
        );
        let Some(groups) = wanted.next() else {
            assert!(
                page.is_empty(),
                "the page after the last patron ({after:?}) holds {ids:?}"
            );
            return;
        };
        assert_eq!(
            sorted_versions(page.clone()),
            groups.concat(),
            "page {number} by {patrons} patrons after {after:?}"
        );
        after = page.last().map(|v| v.primary_id.clone());
    }
    panic!("more than {MAX_PAGES} pages of versions");
}

/// A difference of `patron` in `institution`, every field filled.
fn difference(patron: &PrimaryId, member: &InstitutionCode, kind: DriftKind) -> Difference {
    Difference {
        primary_id: patron.clone(),
        institution: member.clone(),
        kind,
        newest_in: institution(2),
        newest_modified: Some(modified(member.as_str().len())),
        queued: kind != DriftKind::Unlinked,
    }
}

/// Keeps differences, failing the case on a storage error.
async fn keep_differences(b: &Backend, run_id: &str, differences: &[Difference]) {
    if let Err(error) = b.reconciliation.keep_differences(run_id, differences).await {
        panic!(
            "keep_differences of {} differences failed: {error}",
            differences.len()
        );
    }
}

/// One page of differences, failing the case on a storage error.
async fn differences(
    b: &Backend,
    run_id: &str,
    after: Option<&Difference>,
    limit: usize,
) -> Vec<Difference> {
    let cursor = after.map(|d| (&d.primary_id, &d.institution, d.kind));
    match b.reconciliation.differences(run_id, cursor, limit).await {
        Ok(found) => found,
        Err(error) => panic!("differences(after {cursor:?}, {limit}) failed: {error}"),
    }
}

/// Differences in (patron, institution, kind) order, as the store lists them.
fn sorted_differences(mut differences: Vec<Difference>) -> Vec<Difference> {
    differences.sort_by(|a, b| {
        (&a.primary_id, &a.institution, a.kind.as_str()).cmp(&(
            &b.primary_id,
            &b.institution,
            b.kind.as_str(),
        ))
    });
    differences
}

/// Reads every page of a run's differences, `limit` at a time, each after
/// the last of the one before, and checks them against `expected`.
async fn assert_difference_pages(b: &Backend, run_id: &str, limit: usize, expected: &[Difference]) {
    let expected = sorted_differences(expected.to_vec());
    let mut wanted = expected.chunks(limit);
    let mut after: Option<Difference> = None;
    for number in 0..MAX_PAGES {
        let page = differences(b, run_id, after.as_ref(), limit).await;
        let Some(chunk) = wanted.next() else {
            assert!(
                page.is_empty(),
                "the page after the last difference: {page:?}"
            );
            return;
        };
        assert_eq!(page, chunk, "page {number} by {limit}");
        after = page.last().cloned();
    }
    panic!("more than {MAX_PAGES} pages of differences");
}

/// A new run saved with each kind of checkpoint reads back exactly (times to
/// the millisecond, figures per institution); a later version replaces it;
/// an unknown id finds nothing.
pub async fn a_new_run_reads_back_intact(b: Backend) {
    let started = now_ms() - TimeDelta::hours(2);
    let positions = [
        Position::Listing {
            institution: 2,
            category: 1,
            offset: 300,
        },
        Position::Comparing {
            after: Some(patron()),
        },
        Position::Comparing { after: None },
        Position::Finished,
    ];
    let mut saved = Vec::new();
    for (n, position) in positions.into_iter().enumerate() {
        let kind = if n % 2 == 0 {
            RunKind::Reconcile
        } else {
            RunKind::Backfill
        };
        let run = run(kind, started + TimeDelta::milliseconds(n as i64), position);
        save(&b, &run).await;
        saved.push(run);
    }
    for run in &saved {
        assert_eq!(
            get(&b, &run.id).await.as_ref(),
            Some(run),
            "{:?}",
            run.position
        );
    }
    let moved = next(&saved[0], |run| {
        run.position = Position::Comparing {
            after: Some(patron()),
        };
        run.dry_run = false;
        run.counts.add(&counts(7));
        run.by_institution.insert(institution(1), counts(9));
        run.finished_at = None;
    });
    save(&b, &moved).await;
    assert_eq!(get(&b, &moved.id).await, Some(moved));
    assert_eq!(get(&b, &run_id()).await, None, "an unknown run");
}

/// A save whose version does not follow the stored one (older, equal,
/// skipping one, 0, or a later version of a run never stored) is Overtaken
/// and changes nothing; the run stays listed once.
pub async fn a_stale_save_is_overtaken_and_changes_nothing(b: Backend) {
    let first = fresh_run();
    save(&b, &first).await;
    let second = next(&first, |run| run.counts = counts(2));
    save(&b, &second).await;
    let refused = [
        (
            Run {
                counts: counts(5),
                ..first.clone()
            },
            "a second version 1",
        ),
        (
            next(&first, |run| run.counts = counts(6)),
            "a second version 2",
        ),
        (
            next(&next(&second, |_| {}), |run| run.counts = counts(7)),
            "version 4 over version 2",
        ),
        (
            Run {
                version: 0,
                ..first.clone()
            },
            "version 0",
        ),
    ];
    for (run, why) in &refused {
        assert_overtaken(b.reconciliation.save_run(run).await, why);
    }
    assert_eq!(get(&b, &first.id).await.as_ref(), Some(&second));
    assert_eq!(recent(&b, RunKind::Reconcile, 10).await, vec![second]);
    let never_stored = next(&fresh_run(), |_| {});
    assert_overtaken(
        b.reconciliation.save_run(&never_stored).await,
        "version 2 of a run never stored",
    );
    assert_eq!(get(&b, &never_stored.id).await, None);
    assert_eq!(recent(&b, RunKind::Reconcile, 10).await.len(), 1);
}

/// Saves racing to store `candidates` (one version of one run): exactly one
/// succeeds, the others are Overtaken, and the winner is what is stored.
async fn race(b: &Backend, candidates: Vec<Run>) -> Run {
    let tasks: Vec<_> = candidates
        .into_iter()
        .map(|candidate| {
            let store = b.reconciliation.clone();
            tokio::spawn(async move {
                let result = store.save_run(&candidate).await;
                (candidate, result)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for joined in futures::future::join_all(tasks).await {
        let (candidate, result) = joined.expect("a saving task panicked");
        match result {
            Ok(()) => winners.push(candidate),
            Err(RunWriteError::Overtaken) => {}
            Err(RunWriteError::Store(error)) => panic!("a concurrent save failed: {error}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one concurrent save may succeed");
    let winner = winners.remove(0);
    assert_eq!(get(b, &winner.id).await.as_ref(), Some(&winner));
    winner
}

/// Ten concurrent first saves of one run, then ten concurrent saves of its
/// version 2: each time exactly one wins, and the run is listed once.
pub async fn concurrent_saves_of_one_version_let_one_win(b: Backend) {
    let base = fresh_run();
    let firsts = (0..RACERS)
        .map(|n| Run {
            counts: counts(n),
            ..base.clone()
        })
        .collect();
    let first = race(&b, firsts).await;
    let seconds = (0..RACERS)
        .map(|n| next(&first, |run| run.counts = counts(100 + n)))
        .collect();
    let second = race(&b, seconds).await;
    assert_eq!(recent(&b, RunKind::Reconcile, 10).await, vec![second]);
}

/// Recent runs are those of the kind asked, newest first by start (then by
/// id, descending), each at its latest version, at most `limit`.
pub async fn recent_runs_are_the_newest_of_their_kind_first(b: Backend) {
    let base = now_ms();
    let reconcile = |hours_ago: i64| {
        run(
            RunKind::Reconcile,
            base - TimeDelta::hours(hours_ago),
            Position::Finished,
        )
    };
    let oldest = reconcile(3);
    let shared_id = run_id();
    let twin_a = Run {
        id: format!("{shared_id}-a"),
        ..reconcile(2)
    };
    let twin_b = Run {
        id: format!("{shared_id}-b"),
        ..twin_a.clone()
    };
    let newest = reconcile(1);
    let backfill = |minutes_ago: i64| {
        run(
            RunKind::Backfill,
            base - TimeDelta::minutes(minutes_ago),
            Position::Finished,
        )
    };
    let (new_backfill, old_backfill) = (backfill(30), backfill(300));
    for run in [
        &twin_b,
        &newest,
        &old_backfill,
        &oldest,
        &new_backfill,
        &twin_a,
    ] {
        save(&b, run).await;
    }
    let newest = next(&newest, |run| run.counts = counts(4));
    save(&b, &newest).await;
    let reconciles = vec![newest, twin_b, twin_a, oldest];
    assert_eq!(recent(&b, RunKind::Reconcile, 10).await, reconciles);
    assert_eq!(recent(&b, RunKind::Reconcile, 4).await, reconciles);
    assert_eq!(
        recent(&b, RunKind::Reconcile, 2).await,
        reconciles[..2].to_vec()
    );
    assert!(recent(&b, RunKind::Reconcile, 0).await.is_empty());
    assert_eq!(
        recent(&b, RunKind::Backfill, 10).await,
        vec![new_backfill, old_backfill]
    );
}

/// Versions kept in any order, over several calls, are paged by whole
/// patrons in primary-id order (a patron read in three institutions never
/// split), `after` excluding its patron, with an empty page at the end.
pub async fn versions_page_by_whole_patrons_in_primary_id_order(b: Backend) {
    let run = fresh_run();
    save(&b, &run).await;
    let ids = patrons(5);
    let read_in = [3, 1, 3, 2, 1];
    let mut kept = Vec::new();
    for (patron, institutions) in ids.iter().zip(read_in) {
        for i in 0..institutions {
            kept.push(version(patron, &institution(i), &format!("{patron}/{i}")));
        }
    }
    kept.reverse();
    let (later, first) = kept.split_at(kept.len() / 2);
    keep_versions(&b, &run.id, first).await;
    keep_versions(&b, &run.id, later).await;
    for patrons in [1, 2, 3, 5, 6] {
        assert_version_pages(&b, &run.id, patrons, &kept).await;
    }
    assert!(
        versions_after(&b, &run.id, None, 0).await.is_empty(),
        "a page of no patrons"
    );
    let between = primary_id(&format!("{}x", ids[1]));
    let page = sorted_versions(versions_after(&b, &run.id, Some(&between), 1).await);
    let third: Vec<ReadVersion> = sorted_versions(kept.clone())
        .into_iter()
        .filter(|v| v.primary_id == ids[2])
        .collect();
    assert_eq!(page, third, "after an id that has no versions");
}

/// A version kept again for the same patron and institution (in a later
/// call, or later in the same call) replaces the earlier one.
pub async fn a_version_kept_again_replaces_the_first(b: Backend) {
    let run = fresh_run();
    save(&b, &run).await;
    let ids = patrons(2);
    let (a, c) = (institution(0), institution(2));
    keep_versions(
        &b,
        &run.id,
        &[
            version(&ids[0], &a, "old-1"),
            version(&ids[0], &c, "kept-1"),
        ],
    )
    .await;
    keep_versions(&b, &run.id, &[version(&ids[0], &a, "new-0")]).await;
    keep_versions(
        &b,
        &run.id,
        &[
            version(&ids[1], &c, "first-1"),
            version(&ids[1], &c, "second-0"),
        ],
    )
    .await;
    let expected = vec![
        version(&ids[0], &a, "new-0"),
        version(&ids[0], &c, "kept-1"),
        version(&ids[1], &c, "second-0"),
    ];
    let all = versions_after(&b, &run.id, None, 10).await;
    assert_eq!(
        sorted_versions(all),
        sorted_versions(expected.clone()),
        "each patron and institution once, the latest kept"
    );
}

/// Versions and differences are kept per run: another run's (even one whose
/// id extends this one's) never show, and a run with none has empty pages.
pub async fn other_runs_versions_and_differences_never_show(b: Backend) {
    let run = fresh_run();
    let other = Run {
        id: format!("{}-2", run.id),
        ..fresh_run()
    };
    let quiet = fresh_run();
    for saved in [&run, &other, &quiet] {
        save(&b, saved).await;
    }
    let ids = patrons(3);
    let mine: Vec<ReadVersion> = ids
        .iter()
        .map(|p| version(p, &institution(0), "mine-1"))
        .collect();
    let theirs: Vec<ReadVersion> = ids
        .iter()
        .flat_map(|p| {
            [
                version(p, &institution(0), "theirs-1"),
                version(p, &institution(1), "theirs-1"),
            ]
        })
        .collect();
    keep_versions(&b, &other.id, &theirs).await;
    keep_versions(&b, &run.id, &mine).await;
    let my_drift = vec![difference(&ids[0], &institution(1), DriftKind::Missing)];
    let their_drift = vec![
        difference(&ids[0], &institution(1), DriftKind::Stale),
        difference(&ids[1], &institution(2), DriftKind::Unlinked),
    ];
    keep_differences(&b, &other.id, &their_drift).await;
    keep_differences(&b, &run.id, &my_drift).await;
    assert_version_pages(&b, &run.id, 2, &mine).await;
    assert_version_pages(&b, &other.id, 2, &theirs).await;
    assert_difference_pages(&b, &run.id, 5, &my_drift).await;
    assert_difference_pages(&b, &other.id, 5, &their_drift).await;
    assert!(versions_after(&b, &quiet.id, None, 10).await.is_empty());
    assert!(differences(&b, &quiet.id, None, 10).await.is_empty());
    assert!(versions_after(&b, &run_id(), None, 10).await.is_empty());
}

/// Differences are paged in patron, institution then kind order, each page
/// after the last difference of the one before, even when a page ends
/// between two kinds of one patron and institution; an empty page ends.
pub async fn differences_page_in_patron_institution_and_kind_order(b: Backend) {
    let run = fresh_run();
    save(&b, &run).await;
    let ids = patrons(4);
    let (a, bb, c) = (institution(0), institution(1), institution(2));
    let found = vec![
        difference(&ids[3], &a, DriftKind::Missing),
        difference(&ids[1], &a, DriftKind::Unlinked),
        difference(&ids[0], &bb, DriftKind::Stale),
        difference(&ids[1], &c, DriftKind::Stale),
        difference(&ids[0], &a, DriftKind::Missing),
        difference(&ids[2], &bb, DriftKind::Unlinked),
        difference(&ids[1], &a, DriftKind::Missing),
    ];
    keep_differences(&b, &run.id, &found[..3]).await;
    keep_differences(&b, &run.id, &found[3..]).await;
    for limit in [1, 2, 3, 7, 10] {
        assert_difference_pages(&b, &run.id, limit, &found).await;
    }
    let split = differences(&b, &run.id, None, 3).await;
    assert_eq!(
        (&split[2].primary_id, &split[2].institution, split[2].kind),
        (&ids[1], &a, DriftKind::Missing),
        "the first page by 3 ends between two kinds of one patron and institution"
    );
    assert!(differences(&b, &run.id, None, 0).await.is_empty());
}

/// A difference found again (same patron, institution and kind, in a later
/// call or later in the same call) replaces the earlier one; another kind of
/// the same patron and institution stays beside it.
pub async fn a_difference_kept_again_replaces_the_first(b: Backend) {
    let run = fresh_run();
    save(&b, &run).await;
    let ids = patrons(2);
    let a = institution(0);
    let stale = difference(&ids[0], &a, DriftKind::Stale);
    let unlinked = difference(&ids[0], &a, DriftKind::Unlinked);
    keep_differences(&b, &run.id, &[stale.clone(), unlinked.clone()]).await;
    let queued = Difference {
        queued: !stale.queued,
        newest_in: institution(1),
        newest_modified: None,
        ..stale.clone()
    };
    keep_differences(&b, &run.id, std::slice::from_ref(&queued)).await;
    let twice = [
        difference(&ids[1], &a, DriftKind::Missing),
        Difference {
            queued: false,
            ..difference(&ids[1], &a, DriftKind::Missing)
        },
    ];
    keep_differences(&b, &run.id, &twice).await;
    let expected = sorted_differences(vec![queued, unlinked, twice[1].clone()]);
    assert_eq!(differences(&b, &run.id, None, 10).await, expected);
}

/// Forgetting a run's versions removes them all, and only them: its
/// differences, the run and another run's versions stay; forgetting again,
/// or a run with none, is fine.
pub async fn forgetting_versions_keeps_the_differences_and_the_run(b: Backend) {
    let run = fresh_run();
    let other = fresh_run();
    save(&b, &run).await;
    save(&b, &other).await;
    let ids = patrons(30);
    let versions: Vec<ReadVersion> = ids
        .iter()
        .flat_map(|p| (0..3).map(move |i| version(p, &institution(i), "v-1")))
        .collect();
    keep_versions(&b, &run.id, &versions).await;
    keep_versions(&b, &other.id, &versions[..4]).await;
    let drift = vec![
        difference(&ids[0], &institution(1), DriftKind::Missing),
        difference(&ids[7], &institution(2), DriftKind::Stale),
    ];
    keep_differences(&b, &run.id, &drift).await;
    for _ in 0..2 {
        if let Err(error) = b.reconciliation.forget_versions(&run.id).await {
            panic!("forget_versions failed: {error}");
        }
    }
    assert!(versions_after(&b, &run.id, None, 100).await.is_empty());
    assert_difference_pages(&b, &run.id, 10, &drift).await;
    assert_eq!(get(&b, &run.id).await, Some(run));
    assert_version_pages(&b, &other.id, 10, &versions[..4]).await;
    if let Err(error) = b.reconciliation.forget_versions(&run_id()).await {
        panic!("forget_versions of a run without versions failed: {error}");
    }
}

/// A run holding 1,000 versions of 400 patrons (two or three institutions
/// each, kept over several calls) pages correctly by 7 patrons, and at once.
pub async fn a_thousand_versions_of_four_hundred_patrons_page_whole(b: Backend) {
    let run = fresh_run();
    save(&b, &run).await;
    let ids = patrons(400);
    let mut kept = Vec::new();
    for i in 0..3 {
        for (n, patron) in ids.iter().enumerate() {
            if i < 2 || n % 2 == 0 {
                kept.push(version(patron, &institution(i), &format!("{n}-{i}")));
            }
        }
    }
    assert_eq!(kept.len(), 1_000);
    for part in kept.chunks(300) {
        keep_versions(&b, &run.id, part).await;
    }
    assert_version_pages(&b, &run.id, 7, &kept).await;
    assert_version_pages(&b, &run.id, 400, &kept).await;
    let all = versions_after(&b, &run.id, None, 1_000).await;
    assert_eq!(sorted_versions(all), sorted_versions(kept));
}

/// A run holding 1,200 differences (400 patrons in three institutions)
/// gives them all when asked for more than that at once (a store reading
/// them in pages must follow its pages), and pages them by 500.
pub async fn twelve_hundred_differences_come_whole_past_a_store_page(b: Backend) {
    let run = fresh_run();
    save(&b, &run).await;
    let kinds = [DriftKind::Missing, DriftKind::Stale, DriftKind::Unlinked];
    let found: Vec<Difference> = patrons(400)
        .iter()
        .enumerate()
        .flat_map(|(n, patron)| {
            (0..3).map(move |i| difference(patron, &institution(i), kinds[(n + i) % 3]))
        })
        .collect();
    for part in found.chunks(500) {
        keep_differences(&b, &run.id, part).await;
    }
    let all = differences(&b, &run.id, None, 1_500).await;
    assert_eq!(all, sorted_differences(found.clone()), "all at once");
    assert_difference_pages(&b, &run.id, 500, &found).await;
}

/// Primary ids may hold any printable character: `#`, `!`, spaces, an id
/// that looks like another id followed by an institution code, non-ASCII.
/// Versions and differences still page in primary-id order, whole patrons,
/// never mixing two patrons.
pub async fn primary_ids_holding_separators_order_and_page_correctly(b: Backend) {
    let run = fresh_run();
    save(&b, &run).await;
    let prefix = patron();
    let (a, c) = (institution(0), institution(2));
    let (one_code, two_codes) = (format!("#{a}"), format!("#{a}#{c}"));
    let suffixes = [
        "",
        "!",
        "#",
        &one_code,
        &two_codes,
        " x",
        "$",
        "-",
        "é",
        "~",
        "\u{a0}z",
        "\u{1f4da}",
    ];
    let ids: Vec<PrimaryId> = suffixes
        .iter()
        .map(|suffix| primary_id(&format!("{prefix}{suffix}")))
        .collect();
    let mut versions = Vec::new();
    let mut drift = Vec::new();
    for (n, patron) in ids.iter().enumerate() {
        versions.push(version(patron, &c, &format!("{n}-c")));
        drift.push(difference(patron, &c, DriftKind::Stale));
        if n % 3 != 1 {
            versions.push(version(patron, &a, &format!("{n}-a")));
            drift.push(difference(patron, &a, DriftKind::Missing));
            drift.push(difference(patron, &a, DriftKind::Unlinked));
        }
    }
    keep_versions(&b, &run.id, &versions).await;
    keep_differences(&b, &run.id, &drift).await;
    for patrons in [1, 3, 20] {
        assert_version_pages(&b, &run.id, patrons, &versions).await;
    }
    for limit in [1, 4, 50] {
        assert_difference_pages(&b, &run.id, limit, &drift).await;
    }
}
