//! The one way the AWS SDK is configured: its HTTP client on the workspace's
//! single TLS stack (hyper 1, rustls 0.23 with ring, as reqwest), since the
//! SDK crates are built without their default HTTP clients.

use aws_config::{BehaviorVersion, ConfigLoader};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// The SDK configuration loader (environment, profile and role, as the SDK's
/// default chain reads them) with rustls on ring as its HTTP client; callers
/// add overrides and `.load()` it. Without it the SDK has no HTTP client.
pub fn sdk_config_loader() -> ConfigLoader {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    loader_over(https)
}

/// The loader over `https`, its connector built on first use.
fn loader_over(https: SharedHttpClient) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(ConnectOnFirstCall(https))
}

/// The SDK's HTTPS client, its connector built when the first request needs
/// it rather than when each service client is created.
///
/// The smithy client builds a connector, and with it a rustls root store
/// parsed from the system's certificates, in `validate_base_client_config`,
/// which every `Client::from_conf` calls: a function building five service
/// clients (and the STS client of the default credentials chain) parsed the
/// roots six times before its first event, most of its start-up time. Built
/// on first use, the connector is made once per connector settings and
/// cached by the inner client, so a cold start parses them once.
#[derive(Debug)]
struct ConnectOnFirstCall(SharedHttpClient);

impl HttpClient for ConnectOnFirstCall {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::ConfigBag;
    use aws_smithy_runtime_api::box_error::BoxError;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// The real HTTPS client, counting the connectors built at client
    /// creation (`validate_base_client_config`), the default credentials
    /// chain's STS client included.
    #[derive(Debug)]
    struct CountingValidations {
        inner: SharedHttpClient,
        validations: Arc<AtomicUsize>,
    }

    impl HttpClient for CountingValidations {
        fn http_connector(
            &self,
            settings: &HttpConnectorSettings,
            components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            self.inner.http_connector(settings, components)
        }

        fn validate_base_client_config(
            &self,
            components: &RuntimeComponentsBuilder,
            cfg: &ConfigBag,
        ) -> Result<(), BoxError> {
            self.validations.fetch_add(1, Ordering::SeqCst);
            self.inner.validate_base_client_config(components, cfg)
        }
    }

    #[tokio::test]
    async fn creating_the_service_clients_builds_no_connector() {
        let validations = Arc::new(AtomicUsize::new(0));
        let https = SharedHttpClient::new(CountingValidations {
            inner: aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::Ring))
                .build_https(),
            validations: validations.clone(),
        });
        let config = loader_over(https)
            .region(aws_config::Region::new("eu-west-1"))
            .load()
            .await;
        let _dynamodb = aws_sdk_dynamodb::Client::new(&config);
        let _sqs = aws_sdk_sqs::Client::new(&config);
        let _ses = aws_sdk_sesv2::Client::new(&config);
        let _eventbridge = aws_sdk_eventbridge::Client::new(&config);
        assert_eq!(
            validations.load(Ordering::SeqCst),
            0,
            "each client creation built a connector (and parsed the root certificates)"
        );
    }
}
