//! The one behaviour suite every storage and queue adapter of patron-hub must pass:
//! the webhook inbox, the per-institution job queues and the distribution ledger
//! (`patron_hub_domain::ports`), and the accounts, tokens, sessions, failed-login
//! and request counters (`patron_hub_domain::accounts`), the patron registry, staging
//! records and domain events of registration (`patron_hub_domain::registration`),
//! the runs, versions and differences of backfills and reconciles
//! (`patron_hub_domain::reconciliation`), the organizations and memberships
//! (`patron_hub_domain::organizations`), the operations time series
//! (`patron_hub_domain::operations`), and the staff console's audit log
//! (`patron_hub_domain::console`), as the domain's ports promise them.
//!
//! Each case is a pub async fn taking a fresh [`Backend`] (or, for organizations
//! and memberships, a fresh [`OrganizationBackend`]; for the audit log, a fresh
//! [`ConsoleBackend`]); an adapter crate runs them all with [`contract_tests!`],
//! [`organization_contract_tests!`] and [`console_contract_tests!`] in its
//! `tests/contract.rs`. The suite assumes only what
//! the ports promise and what SQS can give: at-least-once receives (but never the same
//! job twice within one lease), visibility measured in whole seconds (timings get
//! ±1 s of slack), times that round-trip at least to the millisecond,
//! transactions of at most 100 items (bulk account creation goes beyond them), and
//! published events that reach their log within a few seconds, in any order and
//! possibly more than once.
//!
//! This crate must never name an adapter, a database or an AWS type, and never hold
//! a case that only one backend could pass.

pub mod accounts;
pub mod audit;
pub mod events;
pub mod inbox;
pub mod ledger;
pub mod login_attempts;
pub mod memberships;
pub mod operations;
mod organization_samples;
pub mod organizations;
mod people;
pub mod queue;
pub mod reconciliation;
pub mod registry;
pub mod request_counters;
pub mod sessions;
pub mod staging;
mod support;
pub mod tokens;

use patron_hub_domain::accounts::{
    AccountStore, LoginAttempts, RequestCounters, SessionStore, TokenStore,
};
use patron_hub_domain::console::AuditLog;
use patron_hub_domain::operations::OperationsLog;
use patron_hub_domain::organizations::{MembershipStore, OrganizationStore};
use patron_hub_domain::ports::{DistributionLedger, JobQueue, WebhookInbox};
use patron_hub_domain::reconciliation::ReconciliationStore;
use patron_hub_domain::registration::{EventLog, EventPublisher, PatronRegistry, StagingRecords};
use patron_hub_domain::InstitutionCode;
use std::sync::Arc;

/// One backend under test: every port from the SAME store, so that what the inbox
/// accepts can be received from the queue.
#[derive(Clone)]
pub struct Backend {
    /// Records webhook events once and queues their jobs.
    pub inbox: Arc<dyn WebhookInbox>,
    /// The per-institution job queues with their dead letters.
    pub queue: Arc<dyn JobQueue>,
    /// The claims and outcomes of jobs.
    pub ledger: Arc<dyn DistributionLedger>,
    /// Login accounts with their unique user names and e-mails.
    pub accounts: Arc<dyn AccountStore>,
    /// Single-use activation, password-reset and e-mail-change tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Login sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// Failed logins per submitted identifier.
    pub attempts: Arc<dyn LoginAttempts>,
    /// Counted requests, apart from the failed logins.
    pub requests: Arc<dyn RequestCounters>,
    /// Every patron known to the network, looked up by e-mail and external id.
    pub registry: Arc<dyn PatronRegistry>,
    /// Registration staging records, at most one per e-mail.
    pub staging: Arc<dyn StagingRecords>,
    /// Where domain events are published.
    pub events: Arc<dyn EventPublisher>,
    /// Where the events [`Backend::events`] published are read back.
    pub event_log: Arc<dyn EventLog>,
    /// The runs of backfills and reconciles, their versions and differences.
    pub reconciliation: Arc<dyn ReconciliationStore>,
    /// The operations time series (jobs, lag, Alma answers per 10 minutes).
    pub operations: Arc<dyn OperationsLog>,
}

/// One backend under test for organizations and memberships: every port from
/// the SAME store, so that the founder an organization is created with is one of
/// its memberships, and the accounts are the persons memberships name.
#[derive(Clone)]
pub struct OrganizationBackend {
    /// Organizations, with the index of their rollover due dates.
    pub organizations: Arc<dyn OrganizationStore>,
    /// Memberships with their fee entries and agent markers.
    pub memberships: Arc<dyn MembershipStore>,
    /// Login accounts: the persons memberships belong to.
    pub accounts: Arc<dyn AccountStore>,
}

/// One backend under test for the staff console: its audit log.
#[derive(Clone)]
pub struct ConsoleBackend {
    /// Who did what to which patron, listed per patron.
    pub audit: Arc<dyn AuditLog>,
}

/// The institutions whose queues a fresh [`Backend`] must have: every case uses
/// only these, so an adapter that needs its queues made up front can make them.
pub fn institutions() -> Vec<InstitutionCode> {
    support::INSTITUTIONS
        .iter()
        .filter_map(|code| InstitutionCode::parse(code).ok())
        .collect()
}

/// Expands to one `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per
/// contract case, in modules `inbox`, `queue`, `ledger`, `accounts`, `tokens`,
/// `sessions`, `login_attempts`, `request_counters`, `registry`, `staging`, `events`,
/// `reconciliation` and `operations`. Each test calls
/// `$factory().await`, an `async fn() -> Backend` that must give a FRESH, isolated
/// backend whose queues exist for [`institutions()`]. The calling crate needs
/// `tokio` among its (dev-)dependencies.
#[macro_export]
macro_rules! contract_tests {
    ($factory:path) => {
        $crate::contract_tests!(@modules $factory;
            inbox {
                accepts_once_and_queues_every_job,
                duplicate_event_queues_nothing_more,
                expired_event_counts_as_new,
                concurrent_accepts_accept_once,
                event_without_jobs_is_accepted,
                acceptance_moves_the_origin_forward,
            }
            queue {
                receive_returns_the_job_intact,
                received_job_is_hidden_during_its_lease_then_returns,
                complete_removes_the_job_for_good,
                retry_later_without_delay_makes_it_visible_at_once,
                retry_later_hides_it_for_the_delay,
                receive_respects_max,
                institutions_are_isolated,
                concurrent_receivers_never_share_a_job,
                dead_letter_moves_the_job_to_dead_letters,
                replay_puts_it_back_as_a_fresh_job,
                replay_of_an_unknown_dead_letter_is_false,
                twenty_five_jobs_in_one_call_all_arrive,
                keep_hidden_extends_a_lease_in_progress,
                depth_counts_the_jobs_waiting_and_in_progress,
                oldest_job_age_and_queued_time_follow_the_queue,
            }
            ledger {
                first_claim_proceeds_and_a_held_claim_is_busy,
                expired_claim_can_be_taken_again,
                concurrent_claims_let_one_worker_proceed,
                applied_job_is_already_done,
                skipped_job_is_already_done,
                released_claim_proceeds,
                dead_lettered_job_may_run_again,
                older_event_is_stale,
                last_applied_event_never_moves_back,
                outcomes_are_the_patrons_newest_first,
                a_patrons_next_event_waits_for_the_held_one,
                a_released_or_dead_lettered_job_frees_the_lane,
                a_lane_whose_lease_ended_can_be_taken,
                other_patrons_and_institutions_are_never_blocked,
                concurrent_claims_of_one_patrons_events_let_one_proceed,
                failed_tries_are_counted_and_waits_are_not,
                renewal_keeps_the_claim_and_the_lane,
                known_holdings_are_noted_writes_and_positions,
            }
            accounts {
                created_account_is_found_by_id_email_and_user_name,
                duplicate_user_name_or_email_is_refused,
                concurrent_creations_with_one_email_create_one_account,
                inactive_account_keeps_its_email_reserved,
                update_bumps_the_version_and_refuses_a_stale_one,
                update_of_a_missing_account_is_not_found,
                email_change_keeps_the_old_email_reserved,
                user_name_change_moves_the_reservation,
                taken_reports_exactly_the_taken_names_and_emails,
                create_all_creates_every_account,
                create_all_with_a_conflict_creates_none,
                create_all_with_duplicates_inside_creates_none,
                search_finds_by_any_name_case_insensitive_and_limited,
                expired_on_returns_exactly_the_past_due_accounts_in_expiry_order,
                expired_on_respects_its_limit,
                expired_on_follows_every_update,
            }
            tokens {
                issued_token_is_consumed_once,
                concurrent_consumes_give_one_record,
                expired_token_is_not_consumed,
                revoke_all_removes_only_that_accounts_tokens,
                purge_expired_counts_then_removes_exactly_the_expired_tokens,
                used_and_revoked_tokens_are_not_purged,
                find_shows_a_working_token_without_using_it,
            }
            sessions {
                created_session_is_found_until_deleted,
                touch_records_the_last_use,
                delete_all_ends_only_that_accounts_sessions,
                purge_started_before_counts_then_removes_exactly_the_older_sessions,
            }
            login_attempts {
                failures_are_counted_within_the_window,
                clear_forgets_the_failures,
                identifiers_are_isolated,
                concurrent_failures_are_all_counted,
                purge_expired_removes_what_no_window_counts_any_more,
            }
            request_counters {
                requests_are_counted_within_their_window,
                kinds_and_keys_are_isolated,
                requests_and_failed_logins_never_count_for_each_other,
                concurrent_counts_are_all_kept,
                purge_expired_removes_what_no_window_counts_any_more,
            }
            registry {
                saved_entry_is_found_by_id_email_and_external_id,
                stale_or_blind_saves_are_version_conflicts,
                email_change_moves_the_lookup_key,
                external_id_change_moves_the_lookup_key,
                entries_sharing_an_email_or_external_id_are_all_found,
                remove_takes_the_keys_and_refuses_a_stale_version,
                concurrent_saves_from_one_previous_let_one_win,
            }
            staging {
                created_record_is_found_by_id_and_email,
                second_record_with_the_same_email_is_email_taken,
                concurrent_creates_with_one_email_create_one_record,
                update_bumps_the_version_and_refuses_stale_or_missing,
                remove_frees_the_email_and_refuses_a_stale_version,
                purge_stale_counts_then_removes_exactly_the_stale_records,
                purge_stale_follows_updates_and_removals,
            }
            events {
                published_events_are_read_newest_first_and_only_of_their_kind,
                an_event_published_twice_is_read_once,
                recent_returns_at_most_limit_newest_events,
            }
            reconciliation {
                a_new_run_reads_back_intact,
                a_stale_save_is_overtaken_and_changes_nothing,
                concurrent_saves_of_one_version_let_one_win,
                recent_runs_are_the_newest_of_their_kind_first,
                versions_page_by_whole_patrons_in_primary_id_order,
                a_version_kept_again_replaces_the_first,
                other_runs_versions_and_differences_never_show,
                differences_page_in_patron_institution_and_kind_order,
                a_difference_kept_again_replaces_the_first,
                forgetting_versions_keeps_the_differences_and_the_run,
                a_thousand_versions_of_four_hundred_patrons_page_whole,
                twelve_hundred_differences_come_whole_past_a_store_page,
                primary_ids_holding_separators_order_and_page_correctly,
            }
            operations {
                tallies_add_up_per_bucket_and_institution,
                buckets_older_than_thirty_days_are_never_answered,
                concurrent_adds_are_all_counted,
            }
        );
    };
    (@modules $factory:path; $($module:ident { $($case:ident),* $(,)? })*) => {
        $(
            mod $module {
                #[allow(unused_imports)]
                use super::*;
                $(
                    #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        $crate::$module::$case($factory().await).await;
                    }
                )*
            }
        )*
    };
}

/// Expands to one `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per
/// organization and membership case, in modules `organizations` and `memberships`.
/// Each test calls `$factory().await`, an `async fn() -> OrganizationBackend` that
/// must give a FRESH, isolated backend (no organization of another case is ever due
/// for rollover in it). The calling crate needs `tokio` among its (dev-)dependencies.
#[macro_export]
macro_rules! organization_contract_tests {
    ($factory:path) => {
        $crate::contract_tests!(@modules $factory;
            organizations {
                create_stores_the_organization_and_its_founder,
                update_bumps_the_version_and_refuses_stale_or_missing,
                due_for_rollover_returns_exactly_the_due_ones,
                due_for_rollover_respects_its_limit,
                updating_the_window_moves_the_due_date,
                an_organization_rolled_today_is_not_due_again_today,
            }
            memberships {
                added_memberships_read_back_in_start_order,
                update_bumps_the_version_and_refuses_stale_or_missing,
                overlapping_periods_are_refused_and_adjacent_ones_accepted,
                concurrent_overlapping_adds_let_exactly_one_in,
                other_organizations_and_persons_never_overlap,
                agent_elsewhere_is_refused_while_valid_today,
                agent_elsewhere_is_allowed_once_the_other_has_ended,
                agent_elsewhere_is_allowed_once_the_other_is_removed,
                agent_elsewhere_stays_refused_while_another_agent_membership_remains,
                agent_elsewhere_is_allowed_once_the_other_drops_the_role,
                agent_twice_in_one_organization_and_other_roles_anywhere_are_fine,
                fees_are_the_entries_added,
                remove_refuses_a_stale_version_and_keeps_the_fee,
            }
        );
    };
}

/// Expands to one `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per
/// audit-log case, in module `audit`. Each test calls `$factory().await`, an
/// `async fn() -> ConsoleBackend` that must give a FRESH, isolated backend. The
/// calling crate needs `tokio` among its (dev-)dependencies.
#[macro_export]
macro_rules! console_contract_tests {
    ($factory:path) => {
        $crate::contract_tests!(@modules $factory;
            audit {
                recorded_entries_are_read_newest_first,
                a_primary_id_change_is_listed_under_both_ids,
                other_patrons_entries_never_show,
                recording_an_entry_twice_keeps_one,
            }
        );
    };
}
