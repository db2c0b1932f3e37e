//! Builds the domain services of each function once per cold start, from the
//! environment, Secrets Manager and the AWS clients.

use crate::budget::BudgetShare;
use crate::env::{EnvError, Environment, QueueLocation};
use crate::network_reconcile::{NetworkReconcile, PageQueue};
use futures::stream::{self, StreamExt, TryStreamExt};
use patron_hub_alma::{AlmaClient, AlmaInstitution};
use patron_hub_domain::accounts::{AccountPorts, AccountService, AccountSettings};
use patron_hub_domain::alma::AlmaUsers;
use patron_hub_domain::console::{Console, ConsolePorts};
use patron_hub_domain::distribution::Distributor;
use patron_hub_domain::organizations::{OrganizationService, Rollover, RolloverStores};
use patron_hub_domain::reconciliation::{
    run_calls_per_second, ReconcileSettings, Reconciliation, ReconciliationPorts,
};
use patron_hub_domain::registration::{
    RegistrationPorts, RegistrationService, RegistrySync, StagingEmailVerification,
};
use patron_hub_domain::webhook::{WebhookReceiver, WebhookSecrets};
use patron_hub_domain::{Clock, InstitutionCode, Network, StoreError, SystemClock};
use patron_hub_http::console::ConsoleApi;
use patron_hub_http::members::MembersApi;
use patron_hub_http::registration::RegistrationApi;
use patron_hub_store_aws::{
    queue_urls, resolve_queue_urls, AwsStore, EventBridgePublisher, SesMailer,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The pace of the registration API's Alma calls per institution: a completion
/// at the desk makes two or three, and the institution's workers share the
/// rest of its threshold.
const REGISTRATION_CALLS_PER_SECOND: u32 = 2;
/// The pace of the staff console's Alma calls per institution: a search asks
/// each institution once (twice for a barcode), one staff member at a time.
const CONSOLE_CALLS_PER_SECOND: u32 = 2;
/// How many per-institution secrets are read from Secrets Manager at once at
/// start-up: a network of 100 members waits for 10 round trips, not 100,
/// without opening 100 connections in a cold start.
const SECRETS_AT_ONCE: usize = 10;
/// The Secrets Manager secret holding the console's CSRF key.
const CSRF_KEY_SECRET_VARIABLE: &str = "CONSOLE_CSRF_KEY_SECRET_ARN";
/// The console's CSRF key itself, for local runs.
const CSRF_KEY_VARIABLE: &str = "CONSOLE_CSRF_KEY";

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    /// A setting is missing or invalid.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A secret could not be read.
    #[error("secret {name} could not be read: {reason}")]
    Secret {
        /// The variable naming the secret.
        name: &'static str,
        /// Why (never the value).
        reason: String,
    },
    /// The queues could not be found.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The Alma client could not be built.
    #[error("Alma client: {0}")]
    Alma(String),
}

/// The AWS clients, built once from the default provider chain (which honours
/// `AWS_ENDPOINT_URL`, so the same code runs against a local emulator).
#[derive(Clone)]
pub struct AwsClients {
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// Secrets Manager.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// SES v2 (account mails).
    pub ses: aws_sdk_sesv2::Client,
    /// EventBridge (domain events).
    pub eventbridge: aws_sdk_eventbridge::Client,
}

impl AwsClients {
    /// Loads the shared AWS configuration and builds every client from it.
    pub async fn load() -> Self {
        let config = patron_hub_store_aws::sdk_config_loader().load().await;
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            secrets: aws_sdk_secretsmanager::Client::new(&config),
            ses: aws_sdk_sesv2::Client::new(&config),
            eventbridge: aws_sdk_eventbridge::Client::new(&config),
        }
    }

    /// A secret from Secrets Manager when `arn_variable` is set, otherwise the
    /// plain `fallback_variable` (for local runs with `cargo lambda watch`).
    async fn secret(
        &self,
        env: &Environment,
        arn_variable: &'static str,
        fallback_variable: &'static str,
    ) -> Result<String, WiringError> {
        match env.optional(arn_variable) {
            Some(arn) => self.secret_value(arn_variable, arn).await,
            None => Ok(env.required(fallback_variable)?),
        }
    }

    /// One API key per institution of `institutions`: the Secrets Manager
    /// secret named `<prefix><CODE>` when `prefix_variable` is set (read
    /// [`SECRETS_AT_ONCE`] at a time), otherwise
    /// the plain keys in `fallback_variable` (a JSON object code → key).
    async fn secrets_per_institution(
        &self,
        env: &Environment,
        prefix_variable: &'static str,
        fallback_variable: &'static str,
        institutions: &[InstitutionCode],
    ) -> Result<BTreeMap<InstitutionCode, String>, WiringError> {
        let Some(prefix) = env.optional(prefix_variable) else {
            let mut keys = env.per_institution(fallback_variable, institutions)?;
            keys.retain(|code, _| institutions.contains(code));
            return Ok(keys);
        };
        let prefix = &prefix;
        stream::iter(institutions)
            .map(|code| async move {
                let key = self
                    .secret_value(prefix_variable, format!("{prefix}{code}"))
                    .await?;
                Ok::<_, WiringError>((code.clone(), key))
            })
            .buffer_unordered(SECRETS_AT_ONCE)
            .try_collect()
            .await
    }

    /// The string value of the secret `secret_id` (an ARN or a name), which
    /// the variable `variable` led to.
    async fn secret_value(
        &self,
        variable: &'static str,
        secret_id: String,
    ) -> Result<String, WiringError> {
        let answer = self
            .secrets
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| WiringError::Secret {
                name: variable,
                reason: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
            })?;
        answer
            .secret_string()
            .map(str::to_owned)
            .ok_or(WiringError::Secret {
                name: variable,
                reason: "the secret has no string value".to_owned(),
            })
    }
}

/// The DynamoDB table and the job queues of `institutions` (none for functions
/// that queue nothing), their URLs built from `PATRON_HUB_QUEUE_URL_PREFIX` or,
/// locally, looked up once at start-up.
async fn store(
    env: &Environment,
    aws: &AwsClients,
    institutions: &[InstitutionCode],
    clock: &Arc<dyn Clock>,
) -> Result<AwsStore, WiringError> {
    let queues = if institutions.is_empty() {
        BTreeMap::new()
    } else {
        match env.queue_location()? {
            QueueLocation::UrlPrefix(prefix) => queue_urls(&prefix, institutions),
            QueueLocation::NamePrefix(prefix) => {
                resolve_queue_urls(&aws.sqs, &prefix, institutions).await?
            }
        }
    };
    Ok(AwsStore::new(
        aws.dynamodb.clone(),
        aws.sqs.clone(),
        env.table()?,
        queues,
        clock.clone(),
    ))
}

/// The `alma-webhook` function's receiver, over DynamoDB and the job queues.
pub async fn webhook_receiver(
    env: &Environment,
    aws: &AwsClients,
) -> Result<WebhookReceiver, WiringError> {
    let network = env.network()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = store(env, aws, &network.members, &clock).await?;
    let secrets = aws
        .secret(
            env,
            "PATRON_HUB_WEBHOOK_SECRET_ARN",
            "PATRON_HUB_WEBHOOK_SECRETS",
        )
        .await?;
    let secrets = WebhookSecrets::new(secrets.split(['\n', ',']).map(str::trim));
    let registry = registry_sync(env, &store)?;
    Ok(
        WebhookReceiver::new(secrets, network, env.routing()?, Arc::new(store), clock)
            .with_registry(registry),
    )
}

/// The patron registry in the table, with the identifier type of
/// `REGISTRATION_SETTINGS`: every function that sees Alma records keeps it current.
fn registry_sync(env: &Environment, store: &AwsStore) -> Result<Arc<RegistrySync>, WiringError> {
    let settings = env.registration_settings()?;
    Ok(Arc::new(RegistrySync::new(
        Arc::new(store.clone()),
        settings.external_id_type,
    )))
}

/// An Alma client for `keys` (one API key per institution) on the regional
/// gateway `ALMA_API_BASE_URL`, each institution paced at `calls_per_second`,
/// counting Alma's 429 and 5xx answers in `store`'s operations time series.
fn alma_client(
    env: &Environment,
    store: &AwsStore,
    keys: BTreeMap<InstitutionCode, String>,
    calls_per_second: u32,
) -> Result<AlmaClient, WiringError> {
    let base_url = env.required("ALMA_API_BASE_URL")?;
    let institutions = keys
        .into_iter()
        .map(|(code, api_key)| AlmaInstitution {
            code,
            base_url: base_url.clone(),
            api_key,
            calls_per_second,
        })
        .collect();
    let client = AlmaClient::new(institutions, env.alma_timeout()?)
        .map_err(|e| WiringError::Alma(e.to_string()))?;
    Ok(client.with_operations(Arc::new(store.clone())))
}

/// What one institution's worker function runs on.
pub struct InstitutionWorker {
    /// The queue and ledger.
    pub store: AwsStore,
    /// The domain's worker.
    pub distributor: Distributor,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Its share of the institution's Alma budget.
    pub budget: BudgetShare,
}

/// The `institution-worker` function's services for `PATRON_HUB_INSTITUTION`.
pub async fn institution_worker(
    env: &Environment,
    aws: &AwsClients,
) -> Result<InstitutionWorker, WiringError> {
    let institution = env.institution()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = store(env, aws, std::slice::from_ref(&institution), &clock).await?;
    let api_key = aws
        .secret(env, "ALMA_API_KEY_SECRET_ARN", "ALMA_API_KEY")
        .await?;
    let alma = Arc::new(alma_client(
        env,
        &store,
        BTreeMap::from([(institution.clone(), api_key)]),
        env.calls_per_second_per_process()?,
    )?);
    let budget = BudgetShare::new(
        alma.clone(),
        institution,
        Arc::new(store.clone()),
        clock.clone(),
    );
    let distributor = Distributor::new(
        alma,
        Arc::new(store.clone()),
        clock.clone(),
        env.network_zone()?,
        env.worker()?,
    )
    .with_registry(registry_sync(env, &store)?)
    .with_operations(Arc::new(store.clone()));
    Ok(InstitutionWorker {
        store,
        distributor,
        clock,
        budget,
    })
}

/// The `accounts-api` function's service: accounts, tokens, sessions and login
/// attempts in DynamoDB, mails through SES, links from `PATRON_HUB_PUBLIC_BASE_URL`;
/// memberships from the same table, so that an organization's administrators
/// administer the accounts of their department.
pub async fn account_service(
    env: &Environment,
    aws: &AwsClients,
) -> Result<AccountService, WiringError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let settings = AccountSettings {
        public_base_url: env.required("PATRON_HUB_PUBLIC_BASE_URL")?,
        import_limits: env.import_limits()?,
        ..AccountSettings::default()
    };
    let lifetime = settings
        .session_absolute
        .to_std()
        .unwrap_or(Duration::from_secs(8 * 3600));
    let store = store(env, aws, &[], &clock)
        .await?
        .with_session_lifetime(lifetime);
    let mailer = SesMailer::new(aws.ses.clone(), env.required("PATRON_HUB_MAIL_FROM")?);
    let ports = AccountPorts {
        accounts: Arc::new(store.clone()),
        tokens: Arc::new(store.clone()),
        sessions: Arc::new(store.clone()),
        attempts: Arc::new(store.clone()),
        requests: Arc::new(store.clone()),
        mailer: Arc::new(mailer),
        clock,
    };
    let store = Arc::new(store);
    Ok(AccountService::new(ports, settings).with_organizations(store.clone(), store))
}

/// The registration use cases: staging records and the registry in the table,
/// Alma of every member institution (`ALMA_API_BASE_URL`; the key of `CODE` in
/// the secret named `ALMA_API_KEY_SECRET_PREFIX` + `CODE` or, locally, in the
/// JSON object `ALMA_API_KEYS`), distribution
/// through the job queues, `patron.registered` on the bus `EVENT_BUS_NAME`,
/// settings from `REGISTRATION_SETTINGS`.
pub async fn registration_service(
    env: &Environment,
    aws: &AwsClients,
) -> Result<RegistrationService, WiringError> {
    let network = env.network()?;
    let settings = env.registration_settings()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = store(env, aws, &network.members, &clock).await?;
    let keys = aws
        .secrets_per_institution(
            env,
            "ALMA_API_KEY_SECRET_PREFIX",
            "ALMA_API_KEYS",
            &network.members,
        )
        .await?;
    let alma = alma_client(env, &store, keys, REGISTRATION_CALLS_PER_SECOND)?;
    let events = EventBridgePublisher::new(aws.eventbridge.clone(), env.event_bus_name()?);
    let ports = RegistrationPorts {
        staging: Arc::new(store.clone()),
        sync: registry_sync(env, &store)?,
        alma: Arc::new(alma),
        inbox: Arc::new(store),
        events: Arc::new(events),
        clock,
    };
    Ok(RegistrationService::new(ports, network, settings))
}

/// The `accounts-api` function's service when registration runs beside it:
/// an activation link followed also marks the staging record of the proven
/// e-mail as verified (staging records are in the same table). Needs only the
/// settings of [`account_service`].
pub async fn account_service_confirming_registrations(
    env: &Environment,
    aws: &AwsClients,
) -> Result<AccountService, WiringError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let staging = store(env, aws, &[], &clock).await?;
    let verification = StagingEmailVerification::new(Arc::new(staging), clock);
    Ok(account_service(env, aws)
        .await?
        .with_email_confirmed(Arc::new(verification)))
}

/// The `registration-api` function's router state: the registration service,
/// the account service (to read staff sessions), the client keys of
/// `CLIENT_KEYS`, and no event log (on AWS, events are read from the bus).
pub async fn registration_api(
    env: &Environment,
    aws: &AwsClients,
) -> Result<RegistrationApi, WiringError> {
    let client_keys = env.client_keys()?;
    Ok(RegistrationApi {
        service: Arc::new(registration_service(env, aws).await?),
        accounts: Arc::new(account_service(env, aws).await?),
        client_keys: Arc::new(client_keys),
        events: None,
    })
}

/// The `members-api` function's router state: organizations, memberships and
/// the people they name in the table, and the account service of
/// [`account_service`] to read sessions (it needs the same settings).
pub async fn members_api(env: &Environment, aws: &AwsClients) -> Result<MembersApi, WiringError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = store(env, aws, &[], &clock).await?;
    let service = OrganizationService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store),
        clock,
    );
    Ok(MembersApi {
        service: Arc::new(service),
        accounts: Arc::new(account_service(env, aws).await?),
    })
}

/// The `membership-rollover` function's job over the table: organizations,
/// accounts, tokens, sessions (kept as long as the accounts API's absolute
/// session timeout), failed-login and request counters, and staging records
/// (kept `STAGING_RETENTION_DAYS` after their last update).
pub async fn membership_rollover(
    env: &Environment,
    aws: &AwsClients,
) -> Result<Rollover, WiringError> {
    let retention_days = env.staging_retention_days()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(store(env, aws, &[], &clock).await?);
    let stores = RolloverStores {
        organizations: store.clone(),
        accounts: store.clone(),
        tokens: store.clone(),
        sessions: store.clone(),
        attempts: store.clone(),
        requests: store.clone(),
        staging: store,
    };
    Ok(Rollover::new(
        stores,
        retention_days,
        AccountSettings::default().session_absolute,
    ))
}

/// The `admin-console` function's router state: the staff console over the
/// registry, the ledger, the inbox, the audit log and the job queues of every
/// member in the table and SQS; Alma of the network zone and every member
/// (`ALMA_API_BASE_URL`; the key of `CODE` in the secret named
/// `ALMA_API_KEY_SECRET_PREFIX` + `CODE` or, locally, in the JSON object
/// `ALMA_API_KEYS`); sessions through the account service of
/// [`account_service`] (same settings); and the CSRF key, the same on every
/// instance: 64 hexadecimal digits in the Secrets Manager secret
/// `CONSOLE_CSRF_KEY_SECRET_ARN` or, locally, in `CONSOLE_CSRF_KEY`. Without
/// a usable key the function does not start.
pub async fn admin_console(env: &Environment, aws: &AwsClients) -> Result<ConsoleApi, WiringError> {
    let network = env.network()?;
    let csrf_key = console_csrf_key(env, aws).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let everywhere = network.institutions();
    let store = store(env, aws, &everywhere, &clock).await?;
    let keys = aws
        .secrets_per_institution(
            env,
            "ALMA_API_KEY_SECRET_PREFIX",
            "ALMA_API_KEYS",
            &everywhere,
        )
        .await?;
    let alma: Arc<dyn AlmaUsers> =
        Arc::new(alma_client(env, &store, keys, CONSOLE_CALLS_PER_SECOND)?);
    let ports = ConsolePorts {
        alma: alma.clone(),
        registry: Arc::new(store.clone()),
        ledger: Arc::new(store.clone()),
        inbox: Arc::new(store.clone()),
        audit: Arc::new(store.clone()),
        clock: clock.clone(),
    };
    let console = Console::new(ports, network.clone(), Console::DEFAULT_TIMEOUT);
    // The drift page's repairs: the console's Alma client reads each
    // newest version again; the jobs go to the institutions' queues.
    let reconciliation = reconciliation(env, &store, alma, network, clock.clone())?;
    Ok(ConsoleApi {
        institutions: console.institutions(),
        console: Arc::new(console),
        accounts: Arc::new(account_service(env, aws).await?),
        runs: Arc::new(store.clone()),
        reconciliation: Arc::new(reconciliation),
        operations: Arc::new(store.clone()),
        clock,
        queue: Arc::new(store),
        csrf_key: Arc::new(csrf_key),
    })
}

/// The backfills and reconciles of `network` over the table and the job
/// queues of `store`, reading Alma through `alma`.
fn reconciliation(
    env: &Environment,
    store: &AwsStore,
    alma: Arc<dyn AlmaUsers>,
    network: Network,
    clock: Arc<dyn Clock>,
) -> Result<Reconciliation, WiringError> {
    Ok(Reconciliation::new(
        ReconciliationPorts {
            alma,
            store: Arc::new(store.clone()),
            registry: registry_sync(env, store)?,
            ledger: Arc::new(store.clone()),
            queue: Arc::new(store.clone()),
            clock,
        },
        network,
        ReconcileSettings {
            categories: env.routing()?.distributed_job_categories,
            local_fields: env.worker()?.local_fields,
        },
    ))
}

/// The `network-reconcile` function: backfills and reconciles of the network
/// over the table, repairs on the members' job queues, its pages on the
/// queue `RECONCILE_PAGES_QUEUE_URL`, Alma of every institution (keys as for
/// [`admin_console`]) at [`run_calls_per_second`] of `ALMA_CALLS_PER_SECOND`: the
/// institution workers keep to the rest while a run's checkpoint is fresh.
pub async fn network_reconcile(
    env: &Environment,
    aws: &AwsClients,
) -> Result<NetworkReconcile, WiringError> {
    let network = env.network()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let everywhere = network.institutions();
    let store = store(env, aws, &network.members, &clock).await?;
    let keys = aws
        .secrets_per_institution(
            env,
            "ALMA_API_KEY_SECRET_PREFIX",
            "ALMA_API_KEYS",
            &everywhere,
        )
        .await?;
    let calls_per_second = run_calls_per_second(env.calls_per_second()?);
    let alma = Arc::new(alma_client(env, &store, keys, calls_per_second)?);
    let pages = PageQueue::new(aws.sqs.clone(), env.required("RECONCILE_PAGES_QUEUE_URL")?);
    Ok(NetworkReconcile {
        reconciliation: reconciliation(env, &store, alma, network, clock)?,
        pages,
    })
}

/// The key the console derives its CSRF tokens from: 64 hexadecimal digits in
/// the Secrets Manager secret `CONSOLE_CSRF_KEY_SECRET_ARN` or, locally, in
/// `CONSOLE_CSRF_KEY`. Every instance must use the same key (a form made by
/// one is posted to another), so the function refuses to start without one
/// rather than make one up.
async fn console_csrf_key(env: &Environment, aws: &AwsClients) -> Result<[u8; 32], WiringError> {
    let text = aws
        .secret(env, CSRF_KEY_SECRET_VARIABLE, CSRF_KEY_VARIABLE)
        .await?;
    if let Some(key) = crate::csrf_key::parse(&text) {
        return Ok(key);
    }
    let reason = crate::csrf_key::EXPECTED.to_owned();
    Err(if env.optional(CSRF_KEY_SECRET_VARIABLE).is_some() {
        WiringError::Secret {
            name: CSRF_KEY_SECRET_VARIABLE,
            reason,
        }
    } else {
        EnvError::Invalid {
            name: CSRF_KEY_VARIABLE,
            reason,
        }
        .into()
    })
}
