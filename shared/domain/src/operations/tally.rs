//! What one event adds to its bucket, and the series it counts in.

use crate::distribution::Disposition;
use crate::telemetry::job_outcome;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Upper bounds, in seconds, of the lag histogram's buckets; a last bucket
/// counts every lag above the last bound.
pub const LAG_BOUNDS_SECONDS: [u64; 10] = [1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600];

/// One thing that happened in an institution, counted once in its bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    /// A job applied after waiting this long since it was queued.
    Applied {
        /// From the job's queueing to its application, when known.
        lag: Option<Duration>,
    },
    /// A job given up (kept as a dead letter).
    DeadLettered,
    /// Alma answered 429 (throttled).
    AlmaThrottled,
    /// Alma answered 5xx, or no answer came.
    AlmaFailed,
}

impl Tally {
    /// The Alma answer `status` worth counting (0: no answer), if any.
    pub fn alma_answer(status: u16) -> Option<Self> {
        match status {
            429 => Some(Self::AlmaThrottled),
            0 | 500..=599 => Some(Self::AlmaFailed),
            _ => None,
        }
    }

    /// What a settled job counts (an applied job queued at `queued_at` with
    /// its lag at `now`), if anything: retries and stale jobs are not charted.
    pub fn settled(
        disposition: &Disposition,
        queued_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        match job_outcome(disposition)? {
            "applied" => Some(Self::Applied {
                lag: queued_at.map(|queued_at| (now - queued_at).to_std().unwrap_or_default()),
            }),
            "dead_lettered" => Some(Self::DeadLettered),
            _ => None,
        }
    }

    /// The series this tally adds one to: `applied`, `dead_lettered`,
    /// `alma_429`, `alma_5xx`, and for an applied job with a lag `lag_<i>`,
    /// `i` its histogram bucket. Stores keep one counter per series.
    pub fn series(&self) -> Vec<String> {
        match self {
            Self::Applied { lag } => {
                let mut series = vec!["applied".to_owned()];
                if let Some(lag) = lag {
                    series.push(format!("lag_{}", lag_index(*lag)));
                }
                series
            }
            Self::DeadLettered => vec!["dead_lettered".to_owned()],
            Self::AlmaThrottled => vec!["alma_429".to_owned()],
            Self::AlmaFailed => vec!["alma_5xx".to_owned()],
        }
    }
}

/// The histogram bucket of `lag`: the first bound it does not exceed.
fn lag_index(lag: Duration) -> usize {
    LAG_BOUNDS_SECONDS
        .iter()
        .position(|bound| lag <= Duration::from_secs(*bound))
        .unwrap_or(LAG_BOUNDS_SECONDS.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lags_fall_in_the_first_bucket_they_fit() {
        assert_eq!(lag_index(Duration::ZERO), 0);
        assert_eq!(lag_index(Duration::from_secs(1)), 0);
        assert_eq!(lag_index(Duration::from_millis(1001)), 1);
        assert_eq!(
            lag_index(Duration::from_secs(7200)),
            LAG_BOUNDS_SECONDS.len()
        );
    }

    #[test]
    fn only_429_5xx_and_no_answer_are_counted() {
        assert_eq!(Tally::alma_answer(429), Some(Tally::AlmaThrottled));
        assert_eq!(Tally::alma_answer(503), Some(Tally::AlmaFailed));
        assert_eq!(Tally::alma_answer(0), Some(Tally::AlmaFailed));
        assert_eq!(Tally::alma_answer(404), None);
        assert_eq!(Tally::alma_answer(200), None);
    }
}
