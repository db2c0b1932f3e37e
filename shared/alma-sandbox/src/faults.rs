//! Injected faults: of the API routes (slow answers, server errors, throttling,
//! connections dropped before or after the call is applied) and of the
//! webhooks the librarian routes send (lost, or posted twice).

use crate::webhook::WebhookFaults;
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How badly an institution's API misbehaves. Rates are probabilities in `0.0..=1.0`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Waited before every answer, to simulate a slow Alma.
    pub latency_ms: u64,
    /// The share of calls answered 500 (`60101` "General error") without being applied.
    pub error_rate: f64,
    /// The share of calls whose connection is dropped before a complete answer,
    /// without being applied.
    pub drop_rate: f64,
    /// The share of calls refused with 429 `PER_SECOND_THRESHOLD` whatever the
    /// real rate: Alma's throttling, injected.
    pub throttle_rate: f64,
    /// The share of writes (`POST`, `PUT`, `DELETE`) that are applied, but
    /// whose connection is dropped before the answer: the caller cannot tell
    /// whether its write happened. Reads are not affected.
    pub lost_reply_rate: f64,
    /// The share of librarian changes whose webhook is never sent (the change
    /// is made): a webhook Alma lost.
    pub webhook_drop_rate: f64,
    /// The share of webhooks posted a second time after the listener took
    /// them, as Alma may redeliver.
    pub webhook_duplicate_rate: f64,
}

/// What happens to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Served normally.
    Answer,
    /// Answered 500.
    Fail,
    /// Connection dropped.
    Drop,
    /// Answered 429 `PER_SECOND_THRESHOLD`.
    Throttle,
    /// Applied, then the connection dropped before the answer.
    LoseReply,
}

impl Faults {
    /// Draws the fate of one call; `write` when it changes something.
    pub(crate) fn draw(&self, write: bool) -> Outcome {
        let mut rng = rand::thread_rng();
        let mut happens = |rate: f64| rate > 0.0 && rng.gen::<f64>() < rate;
        if happens(self.drop_rate) {
            Outcome::Drop
        } else if happens(self.throttle_rate) {
            Outcome::Throttle
        } else if happens(self.error_rate) {
            Outcome::Fail
        } else if write && happens(self.lost_reply_rate) {
            Outcome::LoseReply
        } else {
            Outcome::Answer
        }
    }

    /// The faults of the webhooks the librarian routes send.
    pub(crate) fn webhooks(&self) -> WebhookFaults {
        WebhookFaults {
            drop_rate: self.webhook_drop_rate,
            duplicate_rate: self.webhook_duplicate_rate,
        }
    }

    /// Whether the rates are probabilities.
    pub(crate) fn is_valid(&self) -> bool {
        [
            self.error_rate,
            self.drop_rate,
            self.throttle_rate,
            self.lost_reply_rate,
            self.webhook_drop_rate,
            self.webhook_duplicate_rate,
        ]
        .iter()
        .all(|rate| (0.0..=1.0).contains(rate))
    }
}

/// The faults in force: one set for all institutions, and overrides per institution.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    everywhere: Faults,
    by_institution: HashMap<String, Faults>,
}

impl FaultPlan {
    /// Sets the faults of one institution, or with `None` of every institution.
    pub(crate) fn set(&mut self, institution: Option<&str>, faults: Faults) {
        match institution {
            Some(code) => {
                self.by_institution.insert(code.to_owned(), faults);
            }
            None => {
                self.by_institution.clear();
                self.everywhere = faults;
            }
        }
    }

    /// The faults applying to `code`.
    pub(crate) fn for_institution(&self, code: &str) -> Faults {
        self.by_institution
            .get(code)
            .copied()
            .unwrap_or(self.everywhere)
    }
}

/// A response whose body fails at once: the server aborts the connection, so
/// the client sees a connection or body error instead of an answer.
pub(crate) fn dropped_connection() -> Response {
    let severed = futures::stream::once(async {
        Err::<Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by the Alma sandbox",
        ))
    });
    (StatusCode::OK, Body::from_stream(severed)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_of_zero_and_one_are_certain() {
        let calm = Faults::default();
        let broken = Faults {
            error_rate: 1.0,
            ..Faults::default()
        };
        let severed = Faults {
            drop_rate: 1.0,
            error_rate: 1.0,
            ..Faults::default()
        };
        let unheard = Faults {
            lost_reply_rate: 1.0,
            ..Faults::default()
        };
        for _ in 0..100 {
            for write in [false, true] {
                assert_eq!(calm.draw(write), Outcome::Answer);
                assert_eq!(broken.draw(write), Outcome::Fail);
                assert_eq!(severed.draw(write), Outcome::Drop);
            }
            assert_eq!(unheard.draw(true), Outcome::LoseReply);
            assert_eq!(unheard.draw(false), Outcome::Answer, "reads are answered");
        }
    }

    #[test]
    fn an_institution_override_beats_the_network_wide_faults() {
        let mut plan = FaultPlan::default();
        let slow = Faults {
            latency_ms: 50,
            ..Faults::default()
        };
        plan.set(None, slow);
        plan.set(Some("DEMO_B"), Faults::default());
        assert_eq!(plan.for_institution("DEMO_A"), slow);
        assert_eq!(plan.for_institution("DEMO_B"), Faults::default());
        plan.set(None, Faults::default());
        assert_eq!(plan.for_institution("DEMO_A"), Faults::default());
    }

    #[test]
    fn rates_outside_zero_to_one_are_invalid() {
        let bad = Faults {
            error_rate: 1.5,
            ..Faults::default()
        };
        let nan = Faults {
            drop_rate: f64::NAN,
            ..Faults::default()
        };
        assert!(!bad.is_valid());
        assert!(!nan.is_valid());
        assert!(Faults::default().is_valid());
    }
}
