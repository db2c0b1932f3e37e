//! Per-address limits of the flows anyone may call without a session.

use super::AccountService;
use crate::accounts::{AccountError, AddressFlow, RateLimit};
use std::net::IpAddr;

/// The prefix of the per-address counters kept beside the login-failure
/// counters (a login identifier with this prefix matches no account).
const ADDRESS_COUNTER_PREFIX: &str = "address:";

impl AccountService {
    /// Counts a request of `flow` from `address`; past the flow's limit within
    /// its window, `RateLimited` (429, naming the flow), whatever the request names.
    pub async fn admit(&self, flow: AddressFlow, address: IpAddr) -> Result<(), AccountError> {
        let limit = self.settings.address_limits.of(flow);
        // An IPv6 client usually holds a whole /64: count the /64.
        let counted = match address {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        };
        let key = format!("{ADDRESS_COUNTER_PREFIX}{}:{counted}", flow.as_str());
        let requests = self.count_request(&key, limit.window).await?;
        if requests > limit.requests {
            Err(AccountError::RateLimited {
                limit: RateLimit::Address(flow),
                retry_after: limit.window,
            })
        } else {
            Ok(())
        }
    }
}
