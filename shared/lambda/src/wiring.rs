//! Builds the domain services of each function once per cold start, from the
//! environment, Secrets Manager and the AWS clients.

use crate::env::{EnvError, Environment};
use patron_hub_alma::{AlmaClient, AlmaInstitution};
use patron_hub_domain::accounts::{AccountService, AccountServices, AccountSettings};
use patron_hub_domain::distribution::Distributor;
use patron_hub_domain::webhook::{WebhookReceiver, WebhookSecrets};
use patron_hub_domain::{Clock, InstitutionCode, StoreError, SystemClock};
use patron_hub_store_aws::{resolve_queue_urls, AwsStore, SesMailer};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How long a worker waits for one Alma call (the function itself has 30 s).
const ALMA_TIMEOUT: Duration = Duration::from_secs(10);

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
}

impl AwsClients {
    /// Loads the shared AWS configuration and builds every client from it.
    pub async fn load() -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            secrets: aws_sdk_secretsmanager::Client::new(&config),
            ses: aws_sdk_sesv2::Client::new(&config),
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
        let Some(arn) = env.optional(arn_variable) else {
            return Ok(env.required(fallback_variable)?);
        };
        let answer = self
            .secrets
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| WiringError::Secret {
                name: arn_variable,
                reason: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
            })?;
        answer
            .secret_string()
            .map(str::to_owned)
            .ok_or(WiringError::Secret {
                name: arn_variable,
                reason: "the secret has no string value".to_owned(),
            })
    }
}

/// The DynamoDB table and the job queues of `institutions` (none for functions
/// that queue nothing), found once at start-up.
async fn store(
    env: &Environment,
    aws: &AwsClients,
    institutions: &[InstitutionCode],
    clock: &Arc<dyn Clock>,
) -> Result<AwsStore, WiringError> {
    let queues = if institutions.is_empty() {
        BTreeMap::new()
    } else {
        resolve_queue_urls(&aws.sqs, &env.queue_prefix()?, institutions).await?
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
    Ok(WebhookReceiver::new(
        secrets,
        network,
        env.routing()?,
        Arc::new(store),
        clock,
    ))
}

/// What one institution's worker function runs on.
pub struct InstitutionWorker {
    /// The queue and ledger.
    pub store: AwsStore,
    /// The domain's worker.
    pub distributor: Distributor,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

/// The `institution-worker` function's services for `PATRON_HUB_INSTITUTION`.
pub async fn institution_worker(
    env: &Environment,
    aws: &AwsClients,
) -> Result<InstitutionWorker, WiringError> {
    let institution = env.institution()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = store(env, aws, std::slice::from_ref(&institution), &clock).await?;
    let alma = AlmaClient::new(
        vec![AlmaInstitution {
            code: institution,
            base_url: env.required("ALMA_API_BASE_URL")?,
            api_key: aws
                .secret(env, "ALMA_API_KEY_SECRET_ARN", "ALMA_API_KEY")
                .await?,
            calls_per_second: env.calls_per_second_per_process()?,
        }],
        ALMA_TIMEOUT,
    )
    .map_err(|e| WiringError::Alma(e.to_string()))?;
    let distributor = Distributor::new(
        Arc::new(alma),
        Arc::new(store.clone()),
        clock.clone(),
        env.network_zone()?,
        env.worker()?,
    );
    Ok(InstitutionWorker {
        store,
        distributor,
        clock,
    })
}

/// The `accounts-api` function's service: accounts, tokens, sessions and login
/// attempts in DynamoDB, mails through SES, links from `PATRON_HUB_PUBLIC_BASE_URL`.
pub async fn account_service(
    env: &Environment,
    aws: &AwsClients,
) -> Result<AccountService, WiringError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let settings = AccountSettings {
        public_base_url: env.required("PATRON_HUB_PUBLIC_BASE_URL")?,
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
    let services = AccountServices {
        accounts: Arc::new(store.clone()),
        tokens: Arc::new(store.clone()),
        sessions: Arc::new(store.clone()),
        attempts: Arc::new(store),
        mailer: Arc::new(mailer),
        clock,
    };
    Ok(AccountService::new(services, settings))
}
