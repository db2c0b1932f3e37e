//! The single table's key layout and time encodings, in one place so that every
//! item kind is visible at a glance (see the crate doc for the full table).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use patron_hub_domain::accounts::{AccountId, Email, OrganizationId, TokenHash, UserName};
use patron_hub_domain::organizations::MembershipId;
use patron_hub_domain::reconciliation::{DriftKind, RunKind};
use patron_hub_domain::registration::ExternalSystemId;
use patron_hub_domain::{InstitutionCode, PrimaryId};
use sha2::{Digest, Sha256};

/// Partition key attribute.
pub(crate) const PK: &str = "pk";
/// Sort key attribute.
pub(crate) const SK: &str = "sk";
/// The TTL attribute (epoch seconds) DynamoDB deletes expired items by.
pub(crate) const EXPIRES_AT: &str = "expires_at";

/// Sort key of an event receipt.
pub(crate) const RECEIPT_SK: &str = "RECEIPT";
/// Sort key of a job claim.
pub(crate) const CLAIM_SK: &str = "CLAIM";
/// Sort-key prefix of a patron's outcomes.
pub(crate) const OUTCOME_PREFIX: &str = "OUTCOME#";

/// Partition key of a webhook event's receipt.
pub(crate) fn event_pk(event_id: &str) -> String {
    format!("EVENT#{event_id}")
}

/// Partition key of one job's claim. Institution codes never hold `#`, so the
/// event id after it cannot make two jobs collide.
pub(crate) fn claim_pk(institution: &InstitutionCode, event_id: &str) -> String {
    format!("CLAIM#{institution}#{event_id}")
}

/// Partition key of everything kept per patron (positions and outcomes).
pub(crate) fn patron_pk(primary_id: &PrimaryId) -> String {
    format!("PATRON#{primary_id}")
}

/// Sort key of a patron's last applied event in one institution.
pub(crate) fn position_sk(institution: &InstitutionCode) -> String {
    format!("POSITION#{institution}")
}

/// Sort key of the lane of a patron in one institution: which job (event) is
/// applying a change to the patron there, until when.
pub(crate) fn lane_sk(institution: &InstitutionCode) -> String {
    format!("LANE#{institution}")
}

/// Sort key of the note that patron-hub wrote a patron's record in one
/// institution (kept for good: it tells a patron it wrote from a stranger
/// with the same primary id).
pub(crate) fn wrote_sk(institution: &InstitutionCode) -> String {
    format!("WROTE#{institution}")
}

/// Sort key of one outcome: ordered by when the job ended, unique per job.
pub(crate) fn outcome_sk(
    finished_at: DateTime<Utc>,
    institution: &InstitutionCode,
    event_id: &str,
) -> String {
    format!(
        "{OUTCOME_PREFIX}{}#{institution}#{event_id}",
        time_key(finished_at)
    )
}

/// Partition key of an institution's dead letters.
pub(crate) fn dead_letter_pk(institution: &InstitutionCode) -> String {
    format!("DEADLETTER#{institution}")
}

/// A new dead letter's id, also its sort key: ordered by time, then unique.
pub(crate) fn dead_letter_id(dead_at: DateTime<Utc>) -> String {
    format!("{}_{}", time_key(dead_at), uuid::Uuid::new_v4().simple())
}

/// Sort key of an account item.
pub(crate) const ACCOUNT_SK: &str = "ACCOUNT";
/// Sort key of a user-name or e-mail marker.
pub(crate) const MARKER_SK: &str = "MARKER";
/// Partition key of the account directory (one entry per account, for search).
pub(crate) const DIRECTORY_PK: &str = "ACCOUNTS";
/// Sort key of a token item.
pub(crate) const TOKEN_SK: &str = "TOKEN";
/// Sort key of a session item.
pub(crate) const SESSION_SK: &str = "SESSION";
/// Sort-key prefix of an account's token index entries.
pub(crate) const TOKEN_PREFIX: &str = "TOKEN#";
/// Sort-key prefix of an account's session index entries.
pub(crate) const SESSION_PREFIX: &str = "SESSION#";

/// Partition key of an account, of its token and session index entries.
pub(crate) fn account_pk(id: AccountId) -> String {
    format!("ACCOUNT#{id}")
}

/// Partition key of the marker reserving a user name (case-insensitive).
pub(crate) fn user_name_pk(name: &UserName) -> String {
    format!("USERNAME#{}", name.key())
}

/// Partition key of the marker reserving an e-mail (already normalised).
pub(crate) fn email_pk(email: &Email) -> String {
    format!("EMAIL#{email}")
}

/// Sort key of an account's directory entry: sorted by user name, unique by id.
/// User names never hold `#`.
pub(crate) fn directory_sk(name: &UserName, id: AccountId) -> String {
    format!("{}#{id}", name.key())
}

/// Partition key of a token, and sort key of its entry in the account's index.
pub(crate) fn token_key(hash: &TokenHash) -> String {
    format!("{TOKEN_PREFIX}{}", hash.as_str())
}

/// Partition key of a session, and sort key of its entry in the account's index.
pub(crate) fn session_key(hash: &TokenHash) -> String {
    format!("{SESSION_PREFIX}{}", hash.as_str())
}

/// The key layout of one kind of counted events (failed logins, counted
/// requests): one partition per counter key, named by the key's SHA-256 so
/// that the table never holds what people typed (into the login form or
/// elsewhere); one item per event, sorted by time; and an expiry index of
/// its own, so that one kind's purge never reads or removes the other's.
pub(crate) struct CounterKeys {
    /// The prefix of the counters' partitions (`LOGIN#`).
    partition: &'static str,
    /// The prefix of the events' sort keys (`FAILED#`).
    event: &'static str,
    /// The prefix of the expiry index's partitions (`DUE#COUNTER_EXPIRY#`).
    expiry: &'static str,
    /// The operation reading a counter, as errors name it.
    pub(crate) query: &'static str,
    /// The operation reading the expiry index, as errors name it.
    pub(crate) query_expiry: &'static str,
}

/// Failed logins: `LOGIN#{sha256}` / `FAILED#{at}#{uuid}`, expiry index
/// `DUE#COUNTER_EXPIRY#{shard}`.
pub(crate) static LOGIN_FAILURES: CounterKeys = CounterKeys {
    partition: "LOGIN#",
    event: "FAILED#",
    expiry: "DUE#COUNTER_EXPIRY#",
    query: "Query login failures",
    query_expiry: "Query counter expiry index",
};

/// Counted requests: `REQUESTS#{sha256}` / `COUNTED#{at}#{uuid}`, expiry
/// index `DUE#REQUEST_EXPIRY#{shard}`.
pub(crate) static REQUEST_COUNTS: CounterKeys = CounterKeys {
    partition: "REQUESTS#",
    event: "COUNTED#",
    expiry: "DUE#REQUEST_EXPIRY#",
    query: "Query request counts",
    query_expiry: "Query request expiry index",
};

/// How many partitions each counter expiry index is spread over: counted
/// events are written at the pace of logins and limited requests, so the
/// index takes sixteen partitions' write capacity (purging Queries each).
pub(crate) const COUNTER_EXPIRY_SHARDS: u32 = 16;

impl CounterKeys {
    /// Partition key of the events of one counter key: its SHA-256.
    pub(crate) fn pk(&self, key: &str) -> String {
        let digest = Sha256::digest(key.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("{}{hex}", self.partition)
    }

    /// Partition of the expiry index holding the events of the counter
    /// partition `pk`: its shard is the first hexadecimal digit of the hash.
    pub(crate) fn expiry_pk(&self, pk: &str) -> String {
        let shard = pk
            .strip_prefix(self.partition)
            .and_then(|hex| hex.chars().next())
            .unwrap_or('0');
        format!("{}{shard}", self.expiry)
    }

    /// The partitions of the expiry index, one per shard.
    pub(crate) fn expiry_pks(&self) -> impl Iterator<Item = String> + '_ {
        (0..COUNTER_EXPIRY_SHARDS).map(|shard| format!("{}{shard:x}", self.expiry))
    }

    /// The prefix of every event's sort key.
    pub(crate) fn event_prefix(&self) -> &'static str {
        self.event
    }

    /// The smallest sort key of an event at or after `at`.
    pub(crate) fn events_from(&self, at: DateTime<Utc>) -> String {
        format!("{}{}", self.event, time_key(at))
    }

    /// Sort key of one event: ordered by time, then unique.
    pub(crate) fn event_sk(&self, at: DateTime<Utc>) -> String {
        format!("{}#{}", self.events_from(at), uuid::Uuid::new_v4().simple())
    }
}

/// Sort key of an event in its expiry index: by the time no window counts
/// it any more, unique by the event's own (unique) sort key.
pub(crate) fn counter_expiry_sk(forget_at: DateTime<Utc>, event_sk: &str) -> String {
    format!("{}#{event_sk}", time_key(forget_at))
}

/// Sort key of a patron's registry entry (in the patron's partition).
pub(crate) const REGISTRY_SK: &str = "REGISTRY";

/// Partition key of the registry's lookup key for one normalised e-mail; its
/// items' sort keys are the primary ids of the entries holding the e-mail.
pub(crate) fn registry_email_pk(email: &str) -> String {
    format!("PATRON_EMAIL#{email}")
}

/// Partition key of the registry's lookup key for one externalSystemId.
pub(crate) fn registry_external_pk(id: &str) -> String {
    format!("PATRON_EXT#{id}")
}

/// Sort key of a staging record.
pub(crate) const STAGING_SK: &str = "STAGING";

/// Partition key of a staging record.
pub(crate) fn staging_pk(id: &ExternalSystemId) -> String {
    format!("STAGING#{id}")
}

/// Partition key of the marker reserving an e-mail for one staging record.
pub(crate) fn staging_email_pk(email: &Email) -> String {
    format!("STAGING_EMAIL#{email}")
}

/// Partition of the account expiry index: one item per account that is not
/// inactive and has an expiry date, sort key [`account_expiry_sk`].
pub(crate) const ACCOUNT_EXPIRY_PK: &str = "DUE#ACCOUNT_EXPIRY";
/// Partition of the token expiry index: one item per outstanding token, sort
/// key [`token_expiry_sk`].
pub(crate) const TOKEN_EXPIRY_PK: &str = "DUE#TOKEN_EXPIRY";
/// Partition of the staging index by last update: one item per staging
/// record, sort key [`staging_updated_sk`].
pub(crate) const STAGING_UPDATED_PK: &str = "DUE#STAGING_UPDATED";
/// Partition of the organizations' rollover index: one item per organization
/// with a membership window, sort key [`rollover_sk`].
pub(crate) const ROLLOVER_PK: &str = "DUE#ORGANIZATION_ROLLOVER";
/// Partition of the session start index: one item per session, sort key
/// [`session_start_sk`].
pub(crate) const SESSION_START_PK: &str = "DUE#SESSION_START";

/// Sort key of a session in the start index: by start time, unique by hash.
pub(crate) fn session_start_sk(created_at: DateTime<Utc>, hash: &TokenHash) -> String {
    format!("{}#{}", time_key(created_at), hash.as_str())
}

/// A day as text that sorts like the day (`yyyy-mm-dd`; every date the
/// domain handles has a four-digit year).
pub(crate) fn day_key(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// The smallest text sorting after every due sort key of `day` (`{day}#…`):
/// `$` follows `#` in ASCII. `sk < day_end(day)` selects the day and before.
pub(crate) fn day_end(day: NaiveDate) -> String {
    format!("{}$", day_key(day))
}

/// Sort key of an account in the expiry index: by expiry date, unique by id.
pub(crate) fn account_expiry_sk(expires_on: NaiveDate, id: AccountId) -> String {
    format!("{}#{id}", day_key(expires_on))
}

/// Sort key of a token in the expiry index: by expiry time, unique by hash.
pub(crate) fn token_expiry_sk(expires_at: DateTime<Utc>, hash: &TokenHash) -> String {
    format!("{}#{}", time_key(expires_at), hash.as_str())
}

/// Sort key of a staging record in the index by last update, unique by id.
pub(crate) fn staging_updated_sk(updated: DateTime<Utc>, id: &ExternalSystemId) -> String {
    format!("{}#{id}", time_key(updated))
}

/// Sort key of an organization in the rollover index: by due date, unique by id.
pub(crate) fn rollover_sk(due: NaiveDate, id: OrganizationId) -> String {
    format!("{}#{}", day_key(due), id.0)
}

/// Sort key of an organization item.
pub(crate) const ORGANIZATION_SK: &str = "ORGANIZATION";
/// Sort key of a membership item.
pub(crate) const MEMBERSHIP_SK: &str = "MEMBERSHIP";
/// Sort key of the guard of one person's memberships of one organization.
pub(crate) const GUARD_SK: &str = "GUARD";

/// Partition key of an organization.
pub(crate) fn organization_pk(id: OrganizationId) -> String {
    format!("ORGANIZATION#{}", id.0)
}

/// Partition key of a membership.
pub(crate) fn membership_pk(id: MembershipId) -> String {
    format!("MEMBERSHIP#{id}")
}

/// Partition holding a copy of every membership of an organization.
pub(crate) fn organization_memberships_pk(id: OrganizationId) -> String {
    format!("ORGANIZATION_MEMBERSHIPS#{}", id.0)
}

/// Partition holding a copy of every membership of a person.
pub(crate) fn person_memberships_pk(person: AccountId) -> String {
    format!("PERSON_MEMBERSHIPS#{person}")
}

/// Sort key of a membership's copies: by first day, then id (uuid text sorts
/// like the uuid).
pub(crate) fn membership_copy_sk(start: NaiveDate, id: MembershipId) -> String {
    format!("{}#{id}", day_key(start))
}

/// Partition holding an organization's fee entries.
pub(crate) fn organization_fees_pk(id: OrganizationId) -> String {
    format!("ORGANIZATION_FEES#{}", id.0)
}

/// Sort key of a fee entry: by time charged, unique by membership.
pub(crate) fn fee_sk(charged_at: DateTime<Utc>, membership: MembershipId) -> String {
    format!("{}#{membership}", time_key(charged_at))
}

/// Partition key of the guard whose version every change of one person's
/// periods in one organization bumps (the overlap check's lock).
pub(crate) fn periods_guard_pk(person: AccountId, organization: OrganizationId) -> String {
    format!("MEMBERSHIP_PERIODS#{person}#{}", organization.0)
}

/// Partition key of a person's AGENT marker.
pub(crate) fn agent_pk(person: AccountId) -> String {
    format!("AGENT#{person}")
}

/// Sort key of a backfill or reconcile run item.
pub(crate) const RUN_SK: &str = "RUN";

/// Partition key of a run.
pub(crate) fn run_pk(id: &str) -> String {
    format!("RUN#{id}")
}

/// Partition listing the runs of one kind, sort key [`run_listing_sk`].
pub(crate) fn runs_pk(kind: RunKind) -> String {
    format!("RUNS#{}", kind.as_str())
}

/// Sort key of a run in its kind's listing: by start, then by id.
pub(crate) fn run_listing_sk(started_at: DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", time_key(started_at))
}

/// Partition holding the versions a reconcile run read.
pub(crate) fn run_versions_pk(run_id: &str) -> String {
    format!("RUNVERSIONS#{run_id}")
}

/// Partition holding the differences a reconcile run found.
pub(crate) fn run_drift_pk(run_id: &str) -> String {
    format!("RUNDRIFT#{run_id}")
}

/// Ends the primary id (and the institution) in a sort key that starts with
/// one. A primary id may hold `#` and any other printable character, but no
/// control character, and this one sorts below all of those: keys therefore
/// sort as (primary id, institution, ...) do, and never mix two patrons.
const PART_END: char = '\u{1}';
/// Sorts above [`PART_END`] and below every character a primary id holds:
/// a primary id followed by it sorts above every key of that patron and
/// below every key of the patrons after it.
const PAST_PATRON: char = '\u{2}';

/// Sort key of the version of a patron read in one institution.
pub(crate) fn version_sk(primary_id: &PrimaryId, institution: &InstitutionCode) -> String {
    format!("{primary_id}{PART_END}{institution}")
}

/// Above every [`version_sk`] of `primary_id`, below those of the patrons
/// after it: `sk > versions_past(p)` starts after patron `p`.
pub(crate) fn versions_past(primary_id: &PrimaryId) -> String {
    format!("{primary_id}{PAST_PATRON}")
}

/// Sort key of a difference of a patron in one institution.
pub(crate) fn difference_sk(
    primary_id: &PrimaryId,
    institution: &InstitutionCode,
    kind: DriftKind,
) -> String {
    format!(
        "{primary_id}{PART_END}{institution}{PART_END}{}",
        kind.as_str()
    )
}

/// A time as text that sorts like the time (fixed-width RFC 3339, nanoseconds).
pub(crate) fn time_key(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Reads back a [`time_key`].
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// A time as a number of nanoseconds since the epoch, for DynamoDB conditions
/// (numbers compare numerically; no precision is lost).
pub(crate) fn nanos(at: DateTime<Utc>) -> i128 {
    i128::from(at.timestamp()) * 1_000_000_000 + i128::from(at.timestamp_subsec_nanos())
}

/// Reads back [`nanos`].
pub(crate) fn from_nanos(value: i128) -> Option<DateTime<Utc>> {
    let seconds = i64::try_from(value.div_euclid(1_000_000_000)).ok()?;
    let subsec = u32::try_from(value.rem_euclid(1_000_000_000)).ok()?;
    DateTime::from_timestamp(seconds, subsec)
}

/// `at` moved by `by`, held at the end of time instead of overflowing.
pub(crate) fn later(at: DateTime<Utc>, by: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(by)
        .ok()
        .and_then(|by| at.checked_add_signed(by))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A TTL value: epoch seconds, rounded up so an item never expires early.
pub(crate) fn epoch_seconds(at: DateTime<Utc>) -> i64 {
    at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(seconds: i64, nanos: u32) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, nanos).single().unwrap()
    }

    #[test]
    fn nanos_round_trip_exactly_even_before_the_epoch() {
        for time in [
            at(1_767_225_600, 123_456_789),
            at(0, 0),
            at(-1, 999_999_999),
        ] {
            assert_eq!(from_nanos(nanos(time)), Some(time));
        }
        assert!(nanos(at(5, 1)) > nanos(at(5, 0)));
    }

    #[test]
    fn time_keys_sort_like_times_and_read_back() {
        let times = [
            at(1_767_225_600, 0),
            at(1_767_225_600, 5),
            at(1_767_225_601, 0),
            at(1_800_000_000, 999_999_999),
        ];
        let keys: Vec<String> = times.iter().map(|t| time_key(*t)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        for (key, time) in keys.iter().zip(times) {
            assert_eq!(parse_time(key), Some(time));
        }
    }

    #[test]
    fn moving_a_time_never_overflows() {
        assert_eq!(
            later(at(10, 0), std::time::Duration::from_millis(1500)),
            at(11, 500_000_000)
        );
        assert_eq!(
            later(DateTime::<Utc>::MAX_UTC, std::time::Duration::from_secs(1)),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(
            later(at(0, 0), std::time::Duration::MAX),
            DateTime::<Utc>::MAX_UTC
        );
    }

    #[test]
    fn ttl_rounds_up_to_whole_seconds() {
        assert_eq!(epoch_seconds(at(100, 0)), 100);
        assert_eq!(epoch_seconds(at(100, 1)), 101);
    }

    #[test]
    fn due_keys_of_a_day_sort_below_its_end_and_above_the_day_before() {
        let day = NaiveDate::from_ymd_opt(2031, 6, 15).unwrap();
        let id = AccountId(uuid::Uuid::from_u128(u128::MAX));
        let key = account_expiry_sk(day, id);
        assert_eq!(key, format!("2031-06-15#{id}"));
        assert!(key < day_end(day));
        assert!(key > day_key(day), "`sk < day_key` leaves the day out");
        assert!(day_end(day.pred_opt().unwrap()) < key);
        assert!(day_end(day) < day_key(day.succ_opt().unwrap()));
        let early = NaiveDate::from_ymd_opt(987, 1, 2).unwrap();
        assert_eq!(day_key(early), "0987-01-02");
    }

    #[test]
    fn membership_copies_sort_by_first_day_then_id() {
        let (low, high) = (
            MembershipId(uuid::Uuid::from_u128(1)),
            MembershipId(uuid::Uuid::from_u128(u128::MAX - 1)),
        );
        let day = NaiveDate::from_ymd_opt(2031, 6, 15).unwrap();
        let next = day.succ_opt().unwrap();
        let mut keys = vec![
            membership_copy_sk(next, low),
            membership_copy_sk(day, high),
            membership_copy_sk(day, low),
        ];
        keys.sort();
        assert_eq!(
            keys,
            [
                membership_copy_sk(day, low),
                membership_copy_sk(day, high),
                membership_copy_sk(next, low)
            ]
        );
    }

    /// Patrons whose ids hold `#`, `!`, a space, an institution code or
    /// non-ASCII text, in primary-id order.
    fn awkward_patrons() -> Vec<PrimaryId> {
        let mut ids: Vec<PrimaryId> =
            ["p", "p!", "p x", "p#", "p#INST_A", "p#INST_A#B", "pé", "p~"]
                .iter()
                .map(|id| PrimaryId::parse(id).unwrap())
                .collect();
        ids.sort();
        ids
    }

    #[test]
    fn version_keys_sort_by_patron_then_institution_whatever_the_ids_hold() {
        let institutions =
            ["INST_A", "INST_AB", "INST_B"].map(|c| InstitutionCode::parse(c).unwrap());
        let mut keys = Vec::new();
        for patron in awkward_patrons() {
            for institution in &institutions {
                keys.push(version_sk(&patron, institution));
            }
        }
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys);
    }

    #[test]
    fn past_a_patron_lies_every_key_of_later_patrons_and_none_of_its_own() {
        let patrons = awkward_patrons();
        let code = InstitutionCode::parse("Z").unwrap();
        for (n, patron) in patrons.iter().enumerate() {
            let past = versions_past(patron);
            assert!(version_sk(patron, &code) < past, "{patron}");
            for earlier in &patrons[..n] {
                assert!(
                    version_sk(earlier, &code) < past,
                    "{earlier} before {patron}"
                );
            }
            for later in &patrons[n + 1..] {
                let first = InstitutionCode::parse("0").unwrap();
                assert!(version_sk(later, &first) > past, "{later} after {patron}");
            }
        }
    }

    #[test]
    fn difference_keys_sort_by_patron_institution_then_kind() {
        let institutions = ["INST_A", "INST_AB"].map(|c| InstitutionCode::parse(c).unwrap());
        let kinds = [DriftKind::Missing, DriftKind::Stale, DriftKind::Unlinked];
        let mut keys = Vec::new();
        for patron in awkward_patrons() {
            for institution in &institutions {
                for kind in kinds {
                    keys.push(difference_sk(&patron, institution, kind));
                }
            }
        }
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys);
    }

    #[test]
    fn dead_letter_ids_sort_by_time_and_are_unique() {
        let earlier = dead_letter_id(at(1_767_225_600, 0));
        let later = dead_letter_id(at(1_767_225_600, 1));
        assert!(earlier < later);
        assert_ne!(
            dead_letter_id(at(1_767_225_600, 0)),
            dead_letter_id(at(1_767_225_600, 0))
        );
    }
}
