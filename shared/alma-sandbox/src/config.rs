//! Which network the sandbox plays: its zone, members, keys, threshold and webhook settings.

use crate::webhook::Redelivery;
use std::collections::BTreeMap;

/// The network the sandbox simulates. Fixed at start except the webhook listener
/// and the user groups, which [`crate::Sandbox`] can change while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// The network zone's code, e.g. `DEMO_NETWORK`.
    pub network_zone: String,
    /// The member institutions' codes, e.g. `DEMO_A`.
    pub institutions: Vec<String>,
    /// The API key of institution `CODE` (zone included) is this prefix followed by `CODE`.
    pub api_key_prefix: String,
    /// Alma's per-second threshold, applied to each institution separately.
    pub calls_per_second: u32,
    /// The secret the librarian routes sign webhooks with.
    pub webhook_secret: String,
    /// Where the librarian routes POST their webhooks; `None` sends nothing.
    pub webhook_listener: Option<String>,
    /// How a webhook the listener did not take is delivered again.
    pub webhook_redelivery: Redelivery,
    /// Accepted `user_group.value`s per institution; an institution absent here accepts any.
    pub user_groups: BTreeMap<String, Vec<String>>,
}

impl SandboxConfig {
    /// The demo network of DESIGN.md: zone `DEMO_NETWORK`, members `DEMO_A`,
    /// `DEMO_B`, `DEMO_C`, keys `demo-key-<CODE>`, 25 calls per second, secret
    /// `demo-webhook-secret`, no listener, Alma's four delivery attempts
    /// (a second apart and doubling), any user group.
    pub fn demo() -> Self {
        Self {
            network_zone: "DEMO_NETWORK".into(),
            institutions: vec!["DEMO_A".into(), "DEMO_B".into(), "DEMO_C".into()],
            api_key_prefix: "demo-key-".into(),
            calls_per_second: 25,
            webhook_secret: "demo-webhook-secret".into(),
            webhook_listener: None,
            webhook_redelivery: Redelivery::default(),
            user_groups: BTreeMap::new(),
        }
    }

    /// The zone followed by the members: every code that has an API key.
    pub(crate) fn all_codes(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.network_zone.as_str())
            .chain(self.institutions.iter().map(String::as_str))
    }
}
