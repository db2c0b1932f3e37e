//! A backfill or reconcile run: what it covers, where it stands (its
//! checkpoint, one page at a time) and what it found. A run is stored after
//! every page, so a run killed part-way resumes where it stopped, and a
//! paged Lambda picks it up from one invocation to the next.

use crate::{InstitutionCode, PrimaryId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which operation a run performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// Read every user of every institution into the patron registry.
    Backfill,
    /// Compare the distributed readers of the members and repair the differences.
    Reconcile,
}

impl RunKind {
    /// The kind's name in storage, logs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Backfill => "backfill",
            RunKind::Reconcile => "reconcile",
        }
    }
}

/// The next page of work of a run: its checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Position {
    /// Listing the users of `institutions[institution]` (for a reconcile,
    /// those of the distributed category `categories[category]`; the
    /// network zone's are listed last, for its linked copies), from `offset`.
    Listing {
        /// Index into the run's institutions.
        institution: usize,
        /// Index into the distributed categories (0 for a backfill).
        category: usize,
        /// The offset of the next page.
        offset: u32,
    },
    /// Comparing the versions read, patron by patron, after `after`.
    Comparing {
        /// The last patron compared, if any.
        after: Option<PrimaryId>,
    },
    /// Nothing left to do.
    Finished,
}

/// What a run has done and found so far, in numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunCounts {
    /// Users read from Alma.
    pub users_read: u64,
    /// Registry entries written (backfill).
    pub registry_entries_written: u64,
    /// Alma calls made.
    pub alma_calls: u64,
    /// Patrons compared (reconcile).
    pub checked: u64,
    /// A member lacks a distributed reader.
    pub missing: u64,
    /// A member holds an older version of a distributed reader.
    pub stale: u64,
    /// A member lacks the linked copy of a network-zone patron.
    pub unlinked: u64,
    /// Repair jobs queued.
    pub jobs_queued: u64,
}

impl RunCounts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &RunCounts) {
        self.users_read += other.users_read;
        self.registry_entries_written += other.registry_entries_written;
        self.alma_calls += other.alma_calls;
        self.checked += other.checked;
        self.missing += other.missing;
        self.stale += other.stale;
        self.unlinked += other.unlinked;
        self.jobs_queued += other.jobs_queued;
    }
}

/// One backfill or reconcile run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Unique id (time-ordered).
    pub id: String,
    /// Backfill or reconcile.
    pub kind: RunKind,
    /// A dry run writes nothing anywhere but its own report.
    pub dry_run: bool,
    /// The one institution the run is limited to (`--institution`): a
    /// backfill reads only it, a reconcile reads every member but repairs
    /// only it.
    #[serde(default)]
    pub only: Option<InstitutionCode>,
    /// The institutions it covers, in the order they are read.
    pub institutions: Vec<InstitutionCode>,
    /// Where it stands.
    pub position: Position,
    /// Its figures so far, for the whole run.
    pub counts: RunCounts,
    /// Its figures per institution (a difference counts for the institution
    /// that lacks the reader or holds the older version).
    pub by_institution: BTreeMap<InstitutionCode, RunCounts>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it last stored its checkpoint: a run whose checkpoint is older
    /// than a few minutes and not finished was stopped, and may be resumed.
    pub updated_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Optimistic-locking version: 1 when first stored, +1 on each save, so
    /// that two processes never both move one run forward.
    pub version: u64,
}

impl Run {
    /// Whether the run has nothing left to do.
    pub fn is_finished(&self) -> bool {
        self.position == Position::Finished
    }
}

/// What is wrong with a patron in one member institution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// The member lacks the distributed reader.
    Missing,
    /// The member holds a version older than the newest, which differs in
    /// the distributed fields.
    Stale,
    /// The member lacks the linked copy of a network-zone patron.
    Unlinked,
}

impl DriftKind {
    /// The kind's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::Missing => "missing",
            DriftKind::Stale => "stale",
            DriftKind::Unlinked => "unlinked",
        }
    }
}

/// One difference a reconcile found, and the repair it calls for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// The patron.
    pub primary_id: PrimaryId,
    /// The member institution that needs the repair.
    pub institution: InstitutionCode,
    /// What is wrong there.
    pub kind: DriftKind,
    /// Where the newest version is (the network zone for an unlinked copy).
    pub newest_in: InstitutionCode,
    /// When the newest version's content was made (Alma's
    /// `last_modified_date`, or the event patron-hub's write there carried),
    /// when known.
    pub newest_modified: Option<DateTime<Utc>>,
    /// Whether a repair job was queued for it (never in a dry run).
    pub queued: bool,
}

/// One institution's version of a patron, as a reconcile reads it: enough
/// to choose the newest and to tell whether another carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadVersion {
    /// The patron.
    pub primary_id: PrimaryId,
    /// Where the record is.
    pub institution: InstitutionCode,
    /// Alma's `last_modified_date`.
    pub modified: Option<DateTime<Utc>>,
    /// The fingerprint of each distributed field (see
    /// [`super::comparison::fingerprints`]).
    pub fields: serde_json::Map<String, serde_json::Value>,
}
