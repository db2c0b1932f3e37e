//! The one way the AWS SDK is configured: its HTTP client on the workspace's
//! single TLS stack (hyper 1, rustls 0.23 with ring, as reqwest), since the
//! SDK crates are built without their default HTTP clients.

use aws_config::{BehaviorVersion, ConfigLoader};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

/// The SDK configuration loader (environment, profile and role, as the SDK's
/// default chain reads them) with rustls on ring as its HTTP client; callers
/// add overrides and `.load()` it. Without it the SDK has no HTTP client.
pub fn sdk_config_loader() -> ConfigLoader {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client)
}
