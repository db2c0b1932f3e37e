//! One institution's counts over one 10-minute bucket, read back from a store.

use super::tally::LAG_BOUNDS_SECONDS;
use chrono::{DateTime, TimeDelta, Utc};
use std::time::Duration;

/// The width of a bucket.
pub const BUCKET: TimeDelta = TimeDelta::minutes(10);
/// How long buckets are kept: a store never answers an older one.
pub const RETENTION: TimeDelta = TimeDelta::days(30);

/// The start of the bucket holding `at`.
pub fn bucket_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let width = BUCKET.num_seconds();
    let seconds = at.timestamp().div_euclid(width) * width;
    DateTime::from_timestamp(seconds, 0).unwrap_or(at)
}

/// The first bucket start a read from `since` at `now` covers: never one
/// older than [`RETENTION`], even while a store has not deleted it yet.
pub fn first_kept(since: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    bucket_start(since).max(bucket_start(now - RETENTION))
}

/// The counts of one institution's bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Where the bucket begins (a multiple of [`BUCKET`] since the epoch).
    pub start: DateTime<Utc>,
    /// Jobs applied.
    pub applied: u64,
    /// Jobs dead-lettered.
    pub dead_lettered: u64,
    /// Alma's 429 answers.
    pub alma_429: u64,
    /// Alma's 5xx answers and calls without an answer.
    pub alma_5xx: u64,
    /// Applied jobs per lag bucket ([`LAG_BOUNDS_SECONDS`], then one above them).
    pub lag: [u64; LAG_BOUNDS_SECONDS.len() + 1],
}

impl Bucket {
    /// A bucket from a store's counters, named as [`super::Tally::series`]
    /// names them; unknown names are ignored.
    pub fn from_series<'a>(
        start: DateTime<Utc>,
        counters: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> Self {
        let mut bucket = Bucket {
            start,
            ..Bucket::default()
        };
        for (series, count) in counters {
            match series {
                "applied" => bucket.applied += count,
                "dead_lettered" => bucket.dead_lettered += count,
                "alma_429" => bucket.alma_429 += count,
                "alma_5xx" => bucket.alma_5xx += count,
                other => {
                    let index = other
                        .strip_prefix("lag_")
                        .and_then(|i| i.parse::<usize>().ok());
                    if let Some(slot) = index.and_then(|i| bucket.lag.get_mut(i)) {
                        *slot += count;
                    }
                }
            }
        }
        bucket
    }

    /// Adds `other`'s counts to this bucket's.
    pub fn merge(&mut self, other: &Bucket) {
        self.applied += other.applied;
        self.dead_lettered += other.dead_lettered;
        self.alma_429 += other.alma_429;
        self.alma_5xx += other.alma_5xx;
        for (mine, theirs) in self.lag.iter_mut().zip(other.lag) {
            *mine += theirs;
        }
    }

    /// The lag `quantile` (0 to 1) of this bucket's applied jobs, as the
    /// upper bound of the histogram bucket it falls in (`None`: no lag
    /// recorded; above the last bound: twice the last bound).
    pub fn lag_quantile(&self, quantile: f64) -> Option<Duration> {
        let total: u64 = self.lag.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((quantile.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, count) in self.lag.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let last = LAG_BOUNDS_SECONDS[LAG_BOUNDS_SECONDS.len() - 1];
                let bound = LAG_BOUNDS_SECONDS.get(index).copied().unwrap_or(2 * last);
                return Some(Duration::from_secs(bound));
            }
        }
        None
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.applied + self.dead_lettered + self.alma_429 + self.alma_5xx == 0
            && self.lag.iter().all(|count| *count == 0)
    }
}

/// The `count` buckets ending with the one holding `now`, oldest first:
/// `buckets`' counts where a store had some, empty buckets elsewhere (the
/// x axis of a chart).
pub fn timeline(buckets: &[Bucket], now: DateTime<Utc>, count: usize) -> Vec<Bucket> {
    let last = bucket_start(now);
    (0..count)
        .rev()
        .map(|back| {
            let start = last - BUCKET * back as i32;
            let mut slot = Bucket {
                start,
                ..Bucket::default()
            };
            for bucket in buckets.iter().filter(|bucket| bucket.start == start) {
                slot.merge(bucket);
            }
            slot
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::Tally;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_timeline_has_every_bucket_up_to_now() {
        let now = at("2026-03-01T10:15:00Z");
        let counted = Bucket {
            start: at("2026-03-01T09:50:00Z"),
            applied: 3,
            ..Bucket::default()
        };
        let line = timeline(&[counted], now, 4);
        let starts: Vec<_> = line.iter().map(|b| b.start).collect();
        assert_eq!(starts[0], at("2026-03-01T09:40:00Z"));
        assert_eq!(starts[3], at("2026-03-01T10:10:00Z"));
        let applied: Vec<_> = line.iter().map(|b| b.applied).collect();
        assert_eq!(applied, [0, 3, 0, 0]);
    }

    #[test]
    fn buckets_start_on_ten_minutes() {
        assert_eq!(
            bucket_start(at("2026-03-01T10:19:59Z")),
            at("2026-03-01T10:10:00Z")
        );
        assert_eq!(
            bucket_start(at("2026-03-01T10:20:00Z")),
            at("2026-03-01T10:20:00Z")
        );
    }

    #[test]
    fn p50_and_p95_come_from_the_histogram() {
        let mut series = Vec::new();
        for seconds in [
            0_u64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 40, 4000,
        ] {
            let tally = Tally::Applied {
                lag: Some(Duration::from_secs(seconds)),
            };
            series.extend(tally.series());
        }
        let bucket = Bucket::from_series(
            at("2026-03-01T10:00:00Z"),
            series.iter().map(|name| (name.as_str(), 1)),
        );
        assert_eq!(bucket.applied, 20);
        assert_eq!(bucket.lag_quantile(0.5), Some(Duration::from_secs(1)));
        assert_eq!(bucket.lag_quantile(0.95), Some(Duration::from_secs(60)));
        assert_eq!(bucket.lag_quantile(1.0), Some(Duration::from_secs(7200)));
        assert_eq!(Bucket::default().lag_quantile(0.5), None);
    }
}
