//! Counters of the API calls, by institution, method and status.

use crate::lock;
use axum::http::Method;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;

/// How many API calls an institution received with one method and answered with one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCount {
    /// The institution chosen by the API key; `""` when the key was missing or unknown.
    pub institution: String,
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// The HTTP status answered; `0` when the connection was dropped by an injected fault.
    pub status: u16,
    /// How many such calls.
    pub count: u64,
}

/// The calls of one institution per (method, status).
type ByCall = HashMap<(Method, u16), u64>;

/// The counters, per institution then per (method, status).
#[derive(Debug, Default)]
pub(crate) struct Stats(Mutex<HashMap<String, ByCall>>);

impl Stats {
    /// Counts one call.
    pub(crate) fn record(&self, institution: &str, method: &Method, status: u16) {
        let mut counts = lock(&self.0);
        let by_call = match counts.get_mut(institution) {
            Some(by_call) => by_call,
            None => counts.entry(institution.to_owned()).or_default(),
        };
        *by_call.entry((method.clone(), status)).or_default() += 1;
    }

    /// Every counter, sorted by institution, method and status.
    pub(crate) fn snapshot(&self) -> Vec<CallCount> {
        let counts = lock(&self.0);
        let mut calls: Vec<CallCount> = counts
            .iter()
            .flat_map(|(institution, by_call)| {
                by_call.iter().map(|((method, status), count)| CallCount {
                    institution: institution.clone(),
                    method: method.as_str().to_owned(),
                    status: *status,
                    count: *count,
                })
            })
            .collect();
        calls.sort_by(|a, b| {
            (&a.institution, &a.method, a.status).cmp(&(&b.institution, &b.method, b.status))
        });
        calls
    }

    /// Forgets every call.
    pub(crate) fn reset(&self) {
        lock(&self.0).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_institution_method_and_status() {
        let stats = Stats::default();
        stats.record("DEMO_B", &Method::GET, 200);
        stats.record("DEMO_A", &Method::GET, 200);
        stats.record("DEMO_A", &Method::GET, 200);
        stats.record("DEMO_A", &Method::GET, 429);
        let calls = stats.snapshot();
        let summary: Vec<_> = calls
            .iter()
            .map(|c| (c.institution.as_str(), c.method.as_str(), c.status, c.count))
            .collect();
        assert_eq!(
            summary,
            [
                ("DEMO_A", "GET", 200, 2),
                ("DEMO_A", "GET", 429, 1),
                ("DEMO_B", "GET", 200, 1)
            ]
        );
        stats.reset();
        assert!(stats.snapshot().is_empty());
    }
}
