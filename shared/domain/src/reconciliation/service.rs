//! The backfill and reconcile use cases: start a run, then move it forward one
//! page at a time, storing its checkpoint after each page.

use super::comparison::{
    carries, content_time, fingerprints, last_modified, newest, same_names, Version,
};
use super::{
    Difference, DriftKind, Position, ReadVersion, ReconciliationStore, Run, RunCounts, RunKind,
    RunWriteError,
};
use crate::alma::{AlmaError, AlmaUsers, PageSize, SearchField, UserOrder, UserQuery, UserSearch};
use crate::distribution::OutcomeStatus;
use crate::ports::{DistributionLedger, JobQueue};
use crate::registration::RegistrySync;
use crate::{AlmaUser, Clock, InstitutionCode, Job, JobAction, Network, PrimaryId, StoreError};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How many patrons one comparing page covers.
const PATRONS_PER_PAGE: usize = 100;

/// How many whole records a page reads at once (the Alma client paces them
/// under the run's share of the institution's calls per second).
const READS_IN_FLIGHT: usize = 8;

/// How many times [`Reconciliation::finish`] tries one page again after a
/// transient failure, waiting 2 s, 4 s … 32 s in between (about 6 minutes).
const PAGE_RETRIES: u32 = 12;

/// Why a page of a run could not be done. The run's checkpoint is unchanged:
/// doing the page again is safe.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Alma refused or failed a call (a 429 or 5xx is worth another try later).
    #[error("Alma: {0}")]
    Alma(#[from] AlmaError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another process moved the run forward meanwhile.
    #[error("the run was moved forward by another process")]
    Overtaken,
    /// The run to resume does not exist, or is of the other kind.
    #[error("no {0} run to resume")]
    NoSuchRun(String),
}

impl ReconcileError {
    /// Whether the same page may succeed later (Alma throttled or unavailable,
    /// the store unavailable).
    pub fn is_transient(&self) -> bool {
        match self {
            ReconcileError::Alma(error) => error.is_transient(),
            ReconcileError::Store(StoreError::Unavailable(_)) => true,
            _ => false,
        }
    }
}

impl From<RunWriteError> for ReconcileError {
    fn from(error: RunWriteError) -> Self {
        match error {
            RunWriteError::Overtaken => ReconcileError::Overtaken,
            RunWriteError::Store(error) => ReconcileError::Store(error),
        }
    }
}

/// A patron whose differences a repair queued jobs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairedPatron {
    /// The event id of the patron's repair jobs.
    pub event_id: String,
    /// The patron.
    pub primary_id: PrimaryId,
    /// The members a job went to.
    pub institutions: Vec<InstitutionCode>,
}

/// What [`Reconciliation::begin`] found and did.
#[derive(Debug, Clone, PartialEq)]
pub enum Begun {
    /// A new run, stored at its first page.
    Started(Run),
    /// An unfinished run of the same request whose checkpoint went stale
    /// (its process stopped): to be moved on from there.
    Resumed(Run),
    /// The same request is running elsewhere (fresh checkpoint): left alone.
    AlreadyRunning(Run),
}

/// The ports backfills and reconciles work with.
pub struct ReconciliationPorts {
    /// Alma's Users API of every institution, paced under its budget.
    pub alma: Arc<dyn AlmaUsers>,
    /// Runs, versions and differences.
    pub store: Arc<dyn ReconciliationStore>,
    /// The patron registry, which a backfill fills as webhooks would.
    pub registry: Arc<RegistrySync>,
    /// The distribution ledger: positions, the tie-break of the newest version.
    pub ledger: Arc<dyn DistributionLedger>,
    /// The institutions' job queues, where repairs go as ordinary jobs.
    pub queue: Arc<dyn JobQueue>,
    /// Now.
    pub clock: Arc<dyn Clock>,
}

/// What a reconcile compares and repairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileSettings {
    /// The distributed job categories (the routing rules'): only these
    /// readers are compared between members.
    pub categories: Vec<String>,
    /// The fields each institution keeps for itself: never compared.
    pub local_fields: Vec<String>,
}

/// Backfills and reconciles of one network.
pub struct Reconciliation {
    ports: ReconciliationPorts,
    network: Network,
    settings: ReconcileSettings,
}

/// What one page did: its figures, the run's next position, and the
/// differences it found.
struct Page {
    counts: BTreeMap<InstitutionCode, RunCounts>,
    next: Position,
    differences: Vec<Difference>,
}

impl Page {
    fn to(next: Position) -> Self {
        Self {
            counts: BTreeMap::new(),
            next,
            differences: Vec::new(),
        }
    }

    fn count(&mut self, institution: &InstitutionCode, add: impl FnOnce(&mut RunCounts)) {
        add(self.counts.entry(institution.clone()).or_default());
    }
}

impl Reconciliation {
    /// Backfills and reconciles of `network`.
    pub fn new(ports: ReconciliationPorts, network: Network, settings: ReconcileSettings) -> Self {
        Self {
            ports,
            network,
            settings,
        }
    }

    /// Starts a run and stores it. A backfill reads `only` (or every
    /// institution, the network zone first); a reconcile reads every member,
    /// then the network zone, and repairs `only` (or every member).
    pub async fn start(
        &self,
        kind: RunKind,
        dry_run: bool,
        only: Option<InstitutionCode>,
    ) -> Result<Run, ReconcileError> {
        let now = self.ports.clock.now();
        let institutions = match (kind, &only) {
            (RunKind::Backfill, Some(code)) => vec![code.clone()],
            (RunKind::Backfill, None) => self.every_institution(),
            (RunKind::Reconcile, _) => {
                let mut read = self.network.members.clone();
                read.push(self.network.zone.clone());
                read
            }
        };
        let run = Run {
            id: format!("{}-{}", now.format("%Y%m%dT%H%M%S%.3fZ"), kind.as_str()),
            kind,
            dry_run,
            only,
            institutions,
            position: Position::Listing {
                institution: 0,
                category: 0,
                offset: 0,
            },
            counts: RunCounts::default(),
            by_institution: BTreeMap::new(),
            started_at: now,
            updated_at: now,
            finished_at: None,
            version: 1,
        };
        self.ports.store.save_run(&run).await?;
        Ok(run)
    }

    /// Starts a run unless the newest unfinished run of `kind` is the same
    /// request (same `dry_run` and `only`): that one is resumed if it stopped,
    /// and left to its process if it is running. Scheduled and requested
    /// runs begin here, so a run that lost its process is finished rather
    /// than abandoned, and a second request never races the first.
    pub async fn begin(
        &self,
        kind: RunKind,
        dry_run: bool,
        only: Option<InstitutionCode>,
    ) -> Result<Begun, ReconcileError> {
        match self.unfinished(kind).await? {
            Some(run) if run.dry_run == dry_run && run.only == only => {
                Ok(match run.is_running(self.ports.clock.now()) {
                    true => Begun::AlreadyRunning(run),
                    false => Begun::Resumed(run),
                })
            }
            _ => Ok(Begun::Started(self.start(kind, dry_run, only).await?)),
        }
    }

    /// The newest unfinished run of `kind`, to resume where it stopped.
    pub async fn unfinished(&self, kind: RunKind) -> Result<Option<Run>, ReconcileError> {
        let recent = self.ports.store.recent_runs(kind, 1).await?;
        Ok(recent.into_iter().find(|run| !run.is_finished()))
    }

    /// One run by id, of the kind expected.
    pub async fn run(&self, id: &str, kind: RunKind) -> Result<Run, ReconcileError> {
        match self.ports.store.run(id).await? {
            Some(run) if run.kind == kind => Ok(run),
            _ => Err(ReconcileError::NoSuchRun(format!("{} {id}", kind.as_str()))),
        }
    }

    /// Moves `run` to its end page by page, calling `after_page` with the run
    /// as stored after each; a page that failed transiently (Alma throttled
    /// or unavailable, the store unavailable) is tried again after a wait.
    pub async fn finish(
        &self,
        mut run: Run,
        mut after_page: impl FnMut(&Run),
    ) -> Result<Run, ReconcileError> {
        let mut retries = 0;
        while !run.is_finished() {
            match self.step(&run).await {
                Ok(next) => {
                    run = next;
                    retries = 0;
                    after_page(&run);
                }
                Err(error) if error.is_transient() && retries < PAGE_RETRIES => {
                    retries += 1;
                    tracing::warn!(run = %run.id, %error, retries, "page failed; trying it again");
                    tokio::time::sleep(std::time::Duration::from_secs(1 << retries.min(5))).await;
                }
                Err(error) => return Err(error),
            }
        }
        Ok(run)
    }

    /// Does the next page of `run` and stores its checkpoint; the run as
    /// stored. A finished run is returned as it is.
    pub async fn step(&self, run: &Run) -> Result<Run, ReconcileError> {
        let page = match (&run.position, run.kind) {
            (Position::Finished, _) => return Ok(run.clone()),
            (
                &Position::Listing {
                    institution,
                    offset,
                    ..
                },
                RunKind::Backfill,
            ) => self.backfill_page(run, institution, offset).await?,
            (
                &Position::Listing {
                    institution,
                    category,
                    offset,
                },
                RunKind::Reconcile,
            ) => {
                self.reconcile_page(run, institution, category, offset)
                    .await?
            }
            (Position::Comparing { after }, _) => self.compare_page(run, after.as_ref()).await?,
        };
        let now = self.ports.clock.now();
        let mut next = run.clone();
        for (institution, counts) in &page.counts {
            next.counts.add(counts);
            next.by_institution
                .entry(institution.clone())
                .or_default()
                .add(counts);
        }
        if !page.differences.is_empty() {
            self.ports
                .store
                .keep_differences(&run.id, &page.differences)
                .await?;
        }
        if page.next == Position::Finished {
            next.finished_at = Some(now);
            if run.kind == RunKind::Reconcile {
                self.ports.store.forget_versions(&run.id).await?;
            }
        }
        next.position = page.next;
        next.updated_at = now;
        next.version += 1;
        self.ports.store.save_run(&next).await?;
        crate::telemetry::reconcile_finished(&next);
        Ok(next)
    }

    /// Every institution of the network, the zone first.
    fn every_institution(&self) -> Vec<InstitutionCode> {
        std::iter::once(self.network.zone.clone())
            .chain(self.network.members.iter().cloned())
            .collect()
    }

    /// A backfill page: 100 users of one institution, each read whole and
    /// recorded in the registry as its webhook would be.
    async fn backfill_page(
        &self,
        run: &Run,
        index: usize,
        offset: u32,
    ) -> Result<Page, ReconcileError> {
        let Some(institution) = run.institutions.get(index) else {
            return Ok(Page::to(Position::Finished));
        };
        let listed = self.list(institution, None, offset).await?;
        let mut page = Page::to(self.after_listing(run, index, 0, offset, &listed));
        page.count(institution, |c| c.alma_calls += 1);
        for user in self.whole(institution, &listed.users, &mut page).await? {
            let at = last_modified(&user).unwrap_or_else(|| self.ports.clock.now());
            self.ports.registry.observe(institution, &user, at).await?;
            page.count(institution, |c| {
                c.users_read += 1;
                c.registry_entries_written += 1;
            });
        }
        Ok(page)
    }

    /// A reconcile listing page: 100 distributed readers of one member, each
    /// read whole and kept as a version; or 100 users of the network zone,
    /// each checked for its linked copies.
    async fn reconcile_page(
        &self,
        run: &Run,
        index: usize,
        category: usize,
        offset: u32,
    ) -> Result<Page, ReconcileError> {
        let Some(institution) = run.institutions.get(index) else {
            return Ok(Page::to(Position::Comparing { after: None }));
        };
        if *institution == self.network.zone {
            return self.zone_page(run, index, offset).await;
        }
        let Some(wanted) = self.settings.categories.get(category) else {
            return Ok(Page::to(self.next_list(run, index, category)));
        };
        let search = UserSearch::new(SearchField::JobCategory, wanted);
        let listed = self.list(institution, search, offset).await?;
        let mut page = Page::to(self.after_listing(run, index, category, offset, &listed));
        page.count(institution, |c| c.alma_calls += 1);
        let mut versions = Vec::with_capacity(listed.users.len());
        for user in self.whole(institution, &listed.users, &mut page).await? {
            page.count(institution, |c| c.users_read += 1);
            // Alma searches words: "PEB interne" matches PEB; keep exact ones.
            let (Some(primary_id), true) = (
                user.primary_id(),
                user.code_value("job_category") == Some(wanted.as_str()),
            ) else {
                continue;
            };
            versions.push(ReadVersion {
                primary_id,
                institution: institution.clone(),
                modified: last_modified(&user),
                fields: fingerprints(&user, &self.settings.local_fields),
            });
        }
        if !versions.is_empty() {
            self.ports.store.keep_versions(&run.id, &versions).await?;
        }
        Ok(page)
    }

    /// A page of the network zone's users: each one the registry knows as a
    /// zone patron must have its linked copy in every member the registry
    /// does not list; the documented side-effect-free lookup tells, never a
    /// `GET` in the member (which would make Alma copy the patron).
    async fn zone_page(
        &self,
        run: &Run,
        index: usize,
        offset: u32,
    ) -> Result<Page, ReconcileError> {
        let zone = &self.network.zone;
        let listed = self.list(zone, None, offset).await?;
        let mut page = Page::to(self.after_listing(run, index, 0, offset, &listed));
        page.count(zone, |c| c.alma_calls += 1);
        let mut links = Vec::new();
        for primary_id in listed.users.iter().filter_map(AlmaUser::primary_id) {
            let Some(entry) = self.ports.registry.registry().get(&primary_id).await? else {
                continue;
            };
            if !entry.holdings.contains_key(zone) {
                continue;
            }
            page.count(zone, |c| c.checked += 1);
            for member in self.repaired_members(run) {
                if entry.holdings.contains_key(&member) {
                    continue;
                }
                page.count(&member, |c| c.alma_calls += 1);
                let copies = match self
                    .ports
                    .alma
                    .linked_copies(&member, zone, &primary_id)
                    .await
                {
                    Ok(copies) => copies,
                    // Deleted from the zone since the list was read.
                    Err(AlmaError::NotFound { .. }) => continue,
                    Err(error) => return Err(error.into()),
                };
                if !copies.is_empty() {
                    continue;
                }
                page.count(&member, |c| c.unlinked += 1);
                page.differences.push(Difference {
                    primary_id: primary_id.clone(),
                    institution: member.clone(),
                    kind: DriftKind::Unlinked,
                    newest_in: zone.clone(),
                    newest_modified: None,
                    queued: !run.dry_run,
                });
                links.push(self.repair_job(
                    run,
                    &primary_id,
                    &member,
                    zone,
                    JobAction::Link,
                    None,
                    None,
                ));
            }
        }
        self.queue_repairs(run, &links, &mut page).await?;
        Ok(page)
    }

    /// A comparing page: the versions of the next patrons, each compared with
    /// its newest version in every member to repair.
    async fn compare_page(
        &self,
        run: &Run,
        after: Option<&PrimaryId>,
    ) -> Result<Page, ReconcileError> {
        let versions = self
            .ports
            .store
            .versions_after(&run.id, after, PATRONS_PER_PAGE)
            .await?;
        let Some(last) = versions.last().map(|v| v.primary_id.clone()) else {
            return Ok(Page::to(Position::Finished));
        };
        let mut page = Page::to(Position::Comparing { after: Some(last) });
        let mut by_patron: BTreeMap<&PrimaryId, Vec<&ReadVersion>> = BTreeMap::new();
        for version in &versions {
            by_patron
                .entry(&version.primary_id)
                .or_default()
                .push(version);
        }
        let (mut repairs, mut holdings) = (Vec::new(), Vec::new());
        for (primary_id, held) in by_patron {
            let (newest, made) = self.newest_of(run, primary_id, &held).await?;
            page.count(&newest.institution, |c| c.checked += 1);
            // The newest version, and every version whose names agree with
            // it, are this patron's records: a later change of names in one
            // of them (a marriage, say) is the patron's, not a stranger's
            // under the same primary id (the upsert's collision guard).
            if !run.dry_run {
                holdings.extend(
                    held.iter()
                        .filter(|v| same_names(&v.fields, &newest.fields))
                        .map(|v| (primary_id.clone(), v.institution.clone())),
                );
            }
            let mut targets = Vec::new();
            for member in self.repaired_members(run) {
                if member == newest.institution {
                    continue;
                }
                let kind = match held.iter().find(|v| v.institution == member) {
                    None => DriftKind::Missing,
                    Some(version) if !carries(&version.fields, &newest.fields) => DriftKind::Stale,
                    Some(_) => continue,
                };
                page.count(&member, |c| match kind {
                    DriftKind::Missing => c.missing += 1,
                    _ => c.stale += 1,
                });
                page.differences.push(Difference {
                    primary_id: primary_id.clone(),
                    institution: member.clone(),
                    kind,
                    newest_in: newest.institution.clone(),
                    newest_modified: made,
                    queued: !run.dry_run,
                });
                targets.push(member);
            }
            if targets.is_empty() || run.dry_run {
                continue;
            }

            // Only fingerprints were kept: the newest record is read again.
            page.count(&newest.institution, |c| c.alma_calls += 1);
            let record = match self
                .ports
                .alma
                .get_user(&newest.institution, primary_id)
                .await
            {
                Ok(record) => record,
                // Deleted since it was read: nothing to distribute.
                Err(AlmaError::NotFound { .. }) => continue,
                Err(error) => return Err(error.into()),
            };
            for target in targets {
                repairs.push(self.repair_job(
                    run,
                    primary_id,
                    &target,
                    &newest.institution,
                    JobAction::Upsert,
                    made,
                    Some(record.clone()),
                ));
            }
        }
        self.ports.ledger.note_holdings(&holdings).await?;
        self.queue_repairs(run, &repairs, &mut page).await?;
        Ok(page)
    }

    /// The newest of a patron's versions, with when its content was made:
    /// the latest content time (Alma's `last_modified_date`, or for a copy
    /// that still holds what patron-hub last wrote there, the time of the
    /// event that write carried), then the ledger's positions. A patron held alike by every
    /// member needs no choice (nor a read of its outcomes).
    async fn newest_of<'v>(
        &self,
        run: &Run,
        primary_id: &PrimaryId,
        held: &[&'v ReadVersion],
    ) -> Result<(&'v ReadVersion, Option<DateTime<Utc>>), ReconcileError> {
        let first = held[0];
        let alike = held
            .iter()
            .all(|v| carries(&v.fields, &first.fields) && carries(&first.fields, &v.fields));
        if alike && held.len() >= self.repaired_members(run).len() {
            return Ok((first, first.modified));
        }
        let outcomes = self.ports.ledger.outcomes(primary_id).await?;
        let mut versions = Vec::with_capacity(held.len());
        for version in held {
            let last_write = outcomes
                .iter()
                .filter(|o| {
                    o.institution == version.institution && o.status == OutcomeStatus::Applied
                })
                .max_by_key(|o| o.finished_at)
                .and_then(|o| Some((o.written.as_ref()?, o.event_time)));
            versions.push(Version {
                institution: version.institution.clone(),
                modified: content_time(version.modified, &version.fields, last_write),
                position: self
                    .ports
                    .ledger
                    .position(primary_id, &version.institution)
                    .await?,
            });
        }
        let index = newest(&versions).unwrap_or_default();
        Ok((held[index], versions[index].modified))
    }

    /// The members a run repairs: `only`, or every member.
    fn repaired_members(&self, run: &Run) -> Vec<InstitutionCode> {
        self.network
            .members
            .iter()
            .filter(|member| run.only.as_ref().is_none_or(|only| only == *member))
            .cloned()
            .collect()
    }

    /// An ordinary distribution job repairing one difference: the ledger's
    /// ordering, the worker's merge that keeps local fields, and dead
    /// letters all apply to it. Its id is the run's and the patron's, so a
    /// page done twice queues nothing twice in effect.
    #[allow(clippy::too_many_arguments)]
    fn repair_job(
        &self,
        run: &Run,
        primary_id: &PrimaryId,
        target: &InstitutionCode,
        origin: &InstitutionCode,
        action: JobAction,
        modified: Option<DateTime<Utc>>,
        user: Option<AlmaUser>,
    ) -> Job {
        Job {
            event_id: format!("reconcile-{}-{}-{primary_id}", run.id, action.as_str()),
            institution: target.clone(),
            origin: origin.clone(),
            action,
            primary_id: primary_id.clone(),
            event_time: modified.unwrap_or(run.started_at),
            user,
        }
    }

    /// Queues the repairs of a finished run's differences that were not
    /// queued yet (a dry run's, when staff choose to repair what it found):
    /// each newest version is read again, since the difference may have
    /// been repaired or changed since. Returns the patrons repaired, with
    /// the event id of their jobs and the institutions they went to.
    pub async fn repair(&self, run: &Run) -> Result<Vec<RepairedPatron>, ReconcileError> {
        if !run.is_finished() || run.kind != RunKind::Reconcile {
            return Err(ReconcileError::NoSuchRun(format!(
                "finished reconcile {}",
                run.id
            )));
        }
        let (mut repaired_patrons, mut after) = (Vec::<RepairedPatron>::new(), None);
        loop {
            let page = self
                .ports
                .store
                .differences(&run.id, after.as_ref().map(|(p, i, k)| (p, i, *k)), 100)
                .await?;
            let Some(last) = page.last() else {
                return Ok(repaired_patrons);
            };
            after = Some((last.primary_id.clone(), last.institution.clone(), last.kind));
            let mut jobs = Vec::new();
            let mut repaired = Vec::new();
            for difference in page.into_iter().filter(|d| !d.queued) {
                let action = match difference.kind {
                    DriftKind::Unlinked => JobAction::Link,
                    DriftKind::Missing | DriftKind::Stale => JobAction::Upsert,
                };
                let record = match action {
                    JobAction::Upsert => match self
                        .ports
                        .alma
                        .get_user(&difference.newest_in, &difference.primary_id)
                        .await
                    {
                        Ok(record) => Some(record),
                        // Deleted since: nothing left to distribute.
                        Err(AlmaError::NotFound { .. }) => continue,
                        Err(error) => return Err(error.into()),
                    },
                    _ => None,
                };
                let event_id = format!("repair-{}-{}", run.id, difference.primary_id);
                match repaired_patrons.last_mut() {
                    Some(last) if last.event_id == event_id => {
                        last.institutions.push(difference.institution.clone())
                    }
                    _ => repaired_patrons.push(RepairedPatron {
                        event_id: event_id.clone(),
                        primary_id: difference.primary_id.clone(),
                        institutions: vec![difference.institution.clone()],
                    }),
                }
                jobs.push(Job {
                    event_id,
                    institution: difference.institution.clone(),
                    origin: difference.newest_in.clone(),
                    action,
                    primary_id: difference.primary_id.clone(),
                    event_time: difference.newest_modified.unwrap_or(run.started_at),
                    user: record,
                });
                repaired.push(Difference {
                    queued: true,
                    ..difference
                });
            }
            if !jobs.is_empty() {
                self.ports.queue.enqueue(&jobs).await?;
                self.ports
                    .store
                    .keep_differences(&run.id, &repaired)
                    .await?;
            }
        }
    }

    /// Queues the repairs of a page, unless the run is dry.
    async fn queue_repairs(
        &self,
        run: &Run,
        jobs: &[Job],
        page: &mut Page,
    ) -> Result<(), ReconcileError> {
        if run.dry_run || jobs.is_empty() {
            return Ok(());
        }
        self.ports.queue.enqueue(jobs).await?;
        for job in jobs {
            page.count(&job.institution, |c| c.jobs_queued += 1);
        }
        Ok(())
    }

    /// One page of `institution`'s users, in primary-id order.
    async fn list(
        &self,
        institution: &InstitutionCode,
        search: Option<UserSearch>,
        offset: u32,
    ) -> Result<crate::alma::UserPage, ReconcileError> {
        let query = UserQuery {
            search,
            order_by: Some(UserOrder::PrimaryId),
            limit: PageSize::MAX,
            offset,
        };
        Ok(self.ports.alma.list_users(institution, &query).await?)
    }

    /// The whole records of users listed in `institution` (a brief record
    /// lacks e-mails and identifiers), a few at a time so that Alma's
    /// answer time does not slow the run below its pace; those deleted
    /// since they were listed are left out.
    async fn whole(
        &self,
        institution: &InstitutionCode,
        briefs: &[AlmaUser],
        page: &mut Page,
    ) -> Result<Vec<AlmaUser>, ReconcileError> {
        let primary_ids: Vec<PrimaryId> = briefs.iter().filter_map(AlmaUser::primary_id).collect();
        let calls = primary_ids.len() as u64;
        page.count(institution, |c| c.alma_calls += calls);
        let read: Vec<Result<Option<AlmaUser>, AlmaError>> = stream::iter(primary_ids)
            .map(|primary_id| {
                let (alma, institution) = (self.ports.alma.clone(), institution.clone());
                async move {
                    match alma.get_user(&institution, &primary_id).await {
                        Ok(user) => Ok(Some(user)),
                        Err(AlmaError::NotFound { .. }) => Ok(None),
                        Err(error) => Err(error),
                    }
                }
            })
            .buffered(READS_IN_FLIGHT)
            .collect()
            .await;
        let mut users = Vec::with_capacity(read.len());
        for user in read {
            users.extend(user?);
        }
        Ok(users)
    }

    /// Where a run goes after a listing page: the next page of the same list
    /// while it has more, else the next list.
    fn after_listing(
        &self,
        run: &Run,
        index: usize,
        category: usize,
        offset: u32,
        listed: &crate::alma::UserPage,
    ) -> Position {
        let read = u32::try_from(listed.users.len()).unwrap_or(u32::MAX);
        let next_offset = offset.saturating_add(read);
        if read > 0 && u64::from(next_offset) < listed.total_record_count {
            Position::Listing {
                institution: index,
                category,
                offset: next_offset,
            }
        } else {
            self.next_list(run, index, category)
        }
    }

    /// The list after the one of (`index`, `category`): the next distributed
    /// category of the same member (reconcile), else the next institution,
    /// else the end of listing (a backfill ends, a reconcile compares).
    fn next_list(&self, run: &Run, index: usize, category: usize) -> Position {
        let member = run
            .institutions
            .get(index)
            .is_some_and(|code| *code != self.network.zone);
        if run.kind == RunKind::Reconcile && member && category + 1 < self.settings.categories.len()
        {
            return Position::Listing {
                institution: index,
                category: category + 1,
                offset: 0,
            };
        }
        if index + 1 < run.institutions.len() {
            return Position::Listing {
                institution: index + 1,
                category: 0,
                offset: 0,
            };
        }
        match run.kind {
            RunKind::Backfill => Position::Finished,
            RunKind::Reconcile => Position::Comparing { after: None },
        }
    }
}
