//! The one behaviour suite every storage and queue adapter of patron-hub must pass:
//! the webhook inbox, the per-institution job queues and the distribution ledger,
//! as the domain's ports promise them (`patron_hub_domain::ports`).
//!
//! Each case is a pub async fn taking a fresh [`Backend`]; an adapter crate runs them
//! all with [`contract_tests!`] in its `tests/contract.rs`. The suite assumes only what
//! the ports promise and what SQS can give: at-least-once receives (but never the same
//! job twice within one lease), visibility measured in whole seconds (timings get
//! ±1 s of slack), and times that round-trip at least to the millisecond.
//!
//! This crate must never name an adapter, a database or an AWS type, and never hold
//! a case that only one backend could pass.

pub mod inbox;
pub mod ledger;
pub mod queue;
mod support;

use patron_hub_domain::ports::{DistributionLedger, JobQueue, WebhookInbox};
use patron_hub_domain::InstitutionCode;
use std::sync::Arc;

/// One backend under test: the three ports from the SAME store, so that what the
/// inbox accepts can be received from the queue.
#[derive(Clone)]
pub struct Backend {
    /// Records webhook events once and queues their jobs.
    pub inbox: Arc<dyn WebhookInbox>,
    /// The per-institution job queues with their dead letters.
    pub queue: Arc<dyn JobQueue>,
    /// The claims and outcomes of jobs.
    pub ledger: Arc<dyn DistributionLedger>,
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
/// contract case, in modules `inbox`, `queue` and `ledger`. Each test calls
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
