//! One local patron-hub node: the SQLite store, the Alma client, the domain
//! services built on them, the merged router and the per-institution workers.
//! `serve` and the benchmarks run exactly this.

use crate::config::{MailTransport, Runtime};
use axum::Router;
use chrono::{DateTime, NaiveTime, Utc};
use patron_hub_alma::AlmaClient;
use patron_hub_domain::accounts::{AccountPorts, AccountService, AccountSettings, Mailer};
use patron_hub_domain::alma::AlmaUsers;
use patron_hub_domain::console::{Console, ConsolePorts};
use patron_hub_domain::distribution::{work_once, Distributor};
use patron_hub_domain::operations::OperationsLog;
use patron_hub_domain::organizations::{OrganizationService, Rollover, RolloverStores};
use patron_hub_domain::ports::JobQueue;
use patron_hub_domain::reconciliation::{
    busy_institutions, run_calls_per_second, ReconcileSettings, Reconciliation,
    ReconciliationPorts, RUN_SHARE,
};
use patron_hub_domain::registration::{
    RegistrationPorts, RegistrationService, RegistrySync, StagingEmailVerification,
};
use patron_hub_domain::webhook::WebhookReceiver;
use patron_hub_domain::{Clock, InstitutionCode, SystemClock};
use patron_hub_http::console::{self, ConsoleApi};
use patron_hub_http::members::{self, MembersApi};
use patron_hub_http::registration::{self, RegistrationApi};
use patron_hub_http::{accounts, error, health, openapi, webhook};
use patron_hub_mail::{OutboxMailer, SmtpMailer};
use patron_hub_store_sqlite::SqliteStore;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How many jobs a worker takes from its queue at a time.
const WORKER_BATCH: usize = 10;
/// How long an idle worker waits before looking at its queue again.
const IDLE_POLL: Duration = Duration::from_millis(50);

/// The SQLite file inside a data folder.
pub fn database_path(data: &Path) -> PathBuf {
    data.join("patron-hub.sqlite")
}

/// A wired local node.
pub struct LocalNode {
    /// The SQLite store behind every port.
    pub store: SqliteStore,
    /// The webhook use case.
    pub receiver: Arc<WebhookReceiver>,
    /// The worker use case.
    pub distributor: Arc<Distributor>,
    /// The accounts use cases.
    pub accounts: Arc<AccountService>,
    /// The registration use cases.
    pub registration: Arc<RegistrationService>,
    /// The organization and membership use cases.
    pub organizations: Arc<OrganizationService>,
    /// The staff console's use cases.
    pub console: Arc<Console>,
    /// The Alma client the workers, the registration and the console share.
    pub alma: Arc<AlmaClient>,
    /// The key console forms' CSRF tokens are made with: random per process,
    /// which suits one local process (every form is served and posted back here).
    csrf_key: Arc<[u8; 32]>,
    /// The configuration in force.
    pub runtime: Runtime,
    clock: Arc<dyn Clock>,
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The data folder could not be made.
    #[error("cannot create the data folder {0}: {1}")]
    DataFolder(PathBuf, std::io::Error),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] patron_hub_domain::StoreError),
    /// The Alma client could not be built.
    #[error("Alma client: {0}")]
    Alma(String),
    /// The mail outbox could not be set up.
    #[error("mail: {0}")]
    Mail(String),
}

impl LocalNode {
    /// Opens the store under `data` and builds every service once; mail links
    /// start with the configured public URL, else `listen_url`.
    pub fn build(runtime: Runtime, data: &Path, listen_url: &str) -> Result<Self, NodeError> {
        std::fs::create_dir_all(data.join("outbox"))
            .map_err(|e| NodeError::DataFolder(data.to_owned(), e))?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let store = SqliteStore::open(&database_path(data), clock.clone())?;
        let client = Arc::new(
            AlmaClient::new(runtime.alma.clone(), runtime.alma_timeout)
                .map_err(|e| NodeError::Alma(e.to_string()))?
                .with_operations(Arc::new(store.clone())),
        );
        let alma: Arc<dyn AlmaUsers> = client.clone();
        let registry = Arc::new(RegistrySync::new(
            Arc::new(store.clone()),
            runtime.registration.external_id_type.clone(),
        ));
        let receiver = Arc::new(
            WebhookReceiver::new(
                runtime.secrets.clone(),
                runtime.network.clone(),
                runtime.routing.clone(),
                Arc::new(store.clone()),
                clock.clone(),
            )
            .with_registry(registry.clone()),
        );
        let distributor = Arc::new(
            Distributor::new(
                alma.clone(),
                Arc::new(store.clone()),
                clock.clone(),
                runtime.network.zone.clone(),
                runtime.worker.clone(),
            )
            .with_registry(registry.clone())
            .with_operations(Arc::new(store.clone())),
        );
        let registration = Arc::new(RegistrationService::new(
            RegistrationPorts {
                staging: Arc::new(store.clone()),
                sync: registry,
                alma: alma.clone(),
                inbox: Arc::new(store.clone()),
                events: Arc::new(store.clone()),
                clock: clock.clone(),
            },
            runtime.network.clone(),
            runtime.registration.clone(),
        ));
        let mailer: Arc<dyn Mailer> = match &runtime.mail {
            MailTransport::Outbox => Arc::new(
                OutboxMailer::new(data.join("outbox"), runtime.mail_from.clone())
                    .map_err(|e| NodeError::Mail(e.to_string()))?,
            ),
            MailTransport::Smtp(settings) => Arc::new(
                SmtpMailer::new(settings.clone()).map_err(|e| NodeError::Mail(e.to_string()))?,
            ),
        };
        let settings = AccountSettings {
            public_base_url: runtime
                .public_base_url
                .clone()
                .unwrap_or_else(|| listen_url.to_owned()),
            import_limits: runtime.import_limits,
            ..AccountSettings::default()
        };
        let accounts = Arc::new(
            AccountService::new(
                AccountPorts {
                    accounts: Arc::new(store.clone()),
                    tokens: Arc::new(store.clone()),
                    sessions: Arc::new(store.clone()),
                    attempts: Arc::new(store.clone()),
                    requests: Arc::new(store.clone()),
                    mailer,
                    clock: clock.clone(),
                },
                settings,
            )
            .with_email_confirmed(Arc::new(StagingEmailVerification::new(
                Arc::new(store.clone()),
                clock.clone(),
            )))
            .with_organizations(Arc::new(store.clone()), Arc::new(store.clone())),
        );
        let console = Arc::new(Console::new(
            ConsolePorts {
                alma,
                registry: Arc::new(store.clone()),
                ledger: Arc::new(store.clone()),
                inbox: Arc::new(store.clone()),
                audit: Arc::new(store.clone()),
                clock: clock.clone(),
            },
            runtime.network.clone(),
            Console::DEFAULT_TIMEOUT,
        ));
        let organizations = Arc::new(OrganizationService::new(
            Arc::new(store.clone()),
            Arc::new(store.clone()),
            Arc::new(store.clone()),
            clock.clone(),
        ));
        Ok(Self {
            store,
            receiver,
            distributor,
            accounts,
            registration,
            organizations,
            console,
            alma: client,
            csrf_key: Arc::new(rand::random()),
            runtime,
            clock,
        })
    }

    /// The daily rollover over this node's store.
    pub fn rollover(&self) -> Rollover {
        let store = Arc::new(self.store.clone());
        let stores = RolloverStores {
            organizations: store.clone(),
            accounts: store.clone(),
            tokens: store.clone(),
            sessions: store.clone(),
            attempts: store.clone(),
            requests: store.clone(),
            staging: store,
        };
        Rollover::new(
            stores,
            self.runtime.staging_retention_days,
            self.accounts.settings().session_absolute,
        )
    }

    /// Runs the rollover once at start-up (catching up on missed days) and
    /// then every day at [`ROLLOVER_TIME`] UTC: what EventBridge Scheduler does
    /// in AWS. A failed run is logged and tried again at the next time. The
    /// operations time series is purged of what is older than 30 days at the
    /// same time (on AWS, DynamoDB's TTL does it).
    pub fn spawn_daily_rollover(&self) -> JoinHandle<()> {
        let (rollover, clock) = (self.rollover(), self.clock.clone());
        let store = self.store.clone();
        tokio::spawn(async move {
            loop {
                let today = clock.now().date_naive();
                match rollover.run(today, false).await {
                    Ok(summary) => tracing::info!(?summary, "membership rollover done"),
                    Err(error) => tracing::warn!(%error, "membership rollover failed"),
                }
                match OperationsLog::purge(&store, clock.now()).await {
                    Ok(purged) => tracing::info!(purged, "operations buckets purged"),
                    Err(error) => tracing::warn!(%error, "operations purge failed"),
                }
                tokio::time::sleep(until_next_rollover(clock.now())).await;
            }
        })
    }

    /// Every few seconds, gives the workers [`1 - RUN_SHARE`](RUN_SHARE) of
    /// each institution's calls per second while a backfill or a reconcile
    /// runs on it (here or in another process on the same data folder: its
    /// checkpoint is fresh in the store), and the whole budget otherwise.
    pub fn spawn_budget_watch(&self) -> JoinHandle<()> {
        let (store, alma, clock) = (self.store.clone(), self.alma.clone(), self.clock.clone());
        let institutions = self.runtime.network.institutions();
        tokio::spawn(async move {
            let mut shared = BTreeSet::new();
            loop {
                match busy_institutions(&store, clock.now()).await {
                    Ok(busy) if busy != shared => {
                        for institution in &institutions {
                            let share = match busy.contains(institution) {
                                true => 1.0 - RUN_SHARE,
                                false => 1.0,
                            };
                            alma.set_share(institution, share);
                        }
                        tracing::info!(?busy, "the workers' share of the Alma budget changed");
                        shared = busy;
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "runs unreadable; budget unchanged"),
                }
                tokio::time::sleep(BUDGET_WATCH).await;
            }
        })
    }

    /// Reconciles the network every night at the configured time, writing
    /// each run's drift report under `<data>/reports/`; `None` when turned off.
    pub fn spawn_nightly_reconcile(
        &self,
        data: &Path,
    ) -> Result<Option<JoinHandle<()>>, NodeError> {
        let schedule = self.runtime.reconcile;
        if !schedule.nightly {
            return Ok(None);
        }
        let reconciliation = reconciliation(
            &self.runtime,
            &self.store,
            Arc::new(run_client(&self.runtime)?),
        );
        let (store, clock, reports) =
            (self.store.clone(), self.clock.clone(), data.join("reports"));
        Ok(Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(until_next(clock.now(), schedule.at)).await;
                match crate::reconcile::nightly(&reconciliation, &store, &reports).await {
                    Ok(run) => {
                        tracing::info!(run = %run.id, counts = ?run.counts, "nightly reconcile done")
                    }
                    Err(error) => tracing::warn!(%error, "nightly reconcile failed"),
                }
            }
        })))
    }

    /// Every route of every function, on one router.
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/webhooks/alma",
                webhook::routes(self.receiver.clone(), self.runtime.max_body_bytes),
            )
            .merge(accounts::router(self.accounts.clone()))
            .merge(registration::router(RegistrationApi {
                service: self.registration.clone(),
                accounts: self.accounts.clone(),
                client_keys: Arc::new(self.runtime.client_keys.clone()),
                events: Some(Arc::new(self.store.clone())),
            }))
            .merge(members::router(MembersApi {
                service: self.organizations.clone(),
                accounts: self.accounts.clone(),
            }))
            .merge(console::router(ConsoleApi {
                console: self.console.clone(),
                accounts: self.accounts.clone(),
                queue: Arc::new(self.store.clone()),
                institutions: self.console.institutions(),
                csrf_key: self.csrf_key.clone(),
                runs: Arc::new(self.store.clone()),
                reconciliation: Arc::new(reconciliation(
                    &self.runtime,
                    &self.store,
                    self.alma.clone(),
                )),
                operations: Arc::new(self.store.clone()),
                clock: self.clock.clone(),
            }))
            .merge(health::router())
            .merge(openapi::router())
            .fallback(error::not_found)
    }

    /// Starts one worker task per institution (the network zone's applies the
    /// console's actions to its own records), each supervised: a worker that
    /// panics is logged and started again, so one bad job can never silently
    /// stop an institution's distribution.
    pub fn spawn_workers(&self) -> Vec<JoinHandle<()>> {
        self.runtime
            .network
            .institutions()
            .into_iter()
            .map(|institution| {
                let queue: Arc<dyn JobQueue> = Arc::new(self.store.clone());
                let (distributor, clock) = (self.distributor.clone(), self.clock.clone());
                tokio::spawn(async move {
                    loop {
                        let worker = tokio::spawn(run_worker(
                            queue.clone(),
                            distributor.clone(),
                            clock.clone(),
                            institution.clone(),
                        ));
                        if let Err(error) = worker.await {
                            tracing::error!(%institution, %error, "worker stopped; restarting it");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                })
            })
            .collect()
    }
}

/// How often `serve` looks for a running backfill or reconcile.
const BUDGET_WATCH: Duration = Duration::from_secs(5);

/// The backfills and reconciles of `runtime`'s network over `store`,
/// calling Alma through `alma`: what `serve`'s nightly run and the
/// `backfill` and `reconcile` commands use.
pub fn reconciliation(
    runtime: &Runtime,
    store: &SqliteStore,
    alma: Arc<dyn AlmaUsers>,
) -> Reconciliation {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Reconciliation::new(
        ReconciliationPorts {
            alma,
            store: Arc::new(store.clone()),
            registry: Arc::new(RegistrySync::new(
                Arc::new(store.clone()),
                runtime.registration.external_id_type.clone(),
            )),
            ledger: Arc::new(store.clone()),
            queue: Arc::new(store.clone()),
            clock,
        },
        runtime.network.clone(),
        ReconcileSettings {
            categories: runtime.routing.distributed_job_categories.clone(),
            local_fields: runtime.worker.local_fields.clone(),
        },
    )
}

/// The Alma client of a backfill or a reconcile: each institution at
/// [`RUN_SHARE`] of its calls per second (at least one).
pub fn run_client(runtime: &Runtime) -> Result<AlmaClient, NodeError> {
    let institutions = runtime
        .alma
        .iter()
        .cloned()
        .map(|mut institution| {
            institution.calls_per_second = run_calls_per_second(institution.calls_per_second);
            institution
        })
        .collect();
    AlmaClient::new(institutions, runtime.alma_timeout).map_err(|e| NodeError::Alma(e.to_string()))
}

/// The time of day (UTC) the local daily rollover runs.
pub const ROLLOVER_TIME: NaiveTime = match NaiveTime::from_hms_opt(2, 15, 0) {
    Some(time) => time,
    None => NaiveTime::MIN,
};

/// How long from `now` until the next [`ROLLOVER_TIME`].
fn until_next_rollover(now: DateTime<Utc>) -> Duration {
    until_next(now, ROLLOVER_TIME)
}

/// How long from `now` until the next `at` (UTC).
fn until_next(now: DateTime<Utc>, at: NaiveTime) -> Duration {
    let today = now.date_naive().and_time(at).and_utc();
    let next = if today > now {
        today
    } else {
        today + chrono::Duration::days(1)
    };
    (next - now).to_std().unwrap_or(Duration::from_secs(60))
}

/// One institution's worker: drains its queue, and polls it when idle.
async fn run_worker(
    queue: Arc<dyn JobQueue>,
    distributor: Arc<Distributor>,
    clock: Arc<dyn Clock>,
    institution: InstitutionCode,
) {
    loop {
        match work_once(
            queue.as_ref(),
            &distributor,
            clock.as_ref(),
            &institution,
            WORKER_BATCH,
        )
        .await
        {
            Ok(0) => tokio::time::sleep(IDLE_POLL).await,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%institution, %error, "queue unavailable; worker waits");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
