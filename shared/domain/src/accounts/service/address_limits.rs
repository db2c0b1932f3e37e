//! Per-address limits of the flows anyone may call without a session.

use super::AccountService;
use crate::accounts::{AccountError, AddressFlow, CountedRequest, RateLimit};
use std::net::IpAddr;

impl AccountService {
    /// Counts a request of `flow` from `address` (an IPv6 address counts for
    /// its /64); past the flow's limit within its window, `RateLimited` (429,
    /// naming the flow), whatever the request names.
    pub async fn admit(&self, flow: AddressFlow, address: IpAddr) -> Result<(), AccountError> {
        let limit = self.settings.address_limits.of(flow);
        let counter = CountedRequest::Address { flow, address };
        let requests = self.count_request(counter, limit.window).await?;
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
