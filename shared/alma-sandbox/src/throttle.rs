//! Alma's API governance: the per-second threshold of each institution (a
//! sliding window over the last second) and the daily allowance reported in
//! `X-Exl-Api-Remaining`.

use crate::lock;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The calls each institution may make a day, as reported before any call.
const DAILY_ALLOWANCE: u64 = 5_000_000;

/// The width of the sliding window.
const WINDOW: Duration = Duration::from_secs(1);

/// Per institution, the instants of the calls admitted during the last second.
#[derive(Debug)]
pub(crate) struct Threshold {
    per_second: usize,
    windows: HashMap<String, Mutex<VecDeque<Instant>>>,
}

impl Threshold {
    /// A window per institution code, each admitting `per_second` calls.
    pub(crate) fn new<'a>(codes: impl IntoIterator<Item = &'a str>, per_second: u32) -> Self {
        let per_second = usize::try_from(per_second).unwrap_or(usize::MAX);
        let windows = codes
            .into_iter()
            .map(|code| {
                (
                    code.to_owned(),
                    Mutex::new(VecDeque::with_capacity(per_second)),
                )
            })
            .collect();
        Self {
            per_second,
            windows,
        }
    }

    /// Whether a call of `code` made now stays within the threshold; if so it
    /// takes its place in the window. Refused calls take no place.
    pub(crate) fn admit(&self, code: &str) -> bool {
        let Some(window) = self.windows.get(code) else {
            return true;
        };
        let mut window = lock(window);
        // Read the clock under the lock so the window stays in time order.
        let now = Instant::now();
        while window
            .front()
            .is_some_and(|&admitted| now.duration_since(admitted) >= WINDOW)
        {
            window.pop_front();
        }
        if window.len() >= self.per_second {
            return false;
        }
        window.push_back(now);
        true
    }
}

/// Per institution, the calls left today.
#[derive(Debug)]
pub(crate) struct DailyAllowance(HashMap<String, AtomicU64>);

impl DailyAllowance {
    /// A full allowance for each institution code.
    pub(crate) fn new<'a>(codes: impl IntoIterator<Item = &'a str>) -> Self {
        Self(
            codes
                .into_iter()
                .map(|code| (code.to_owned(), AtomicU64::new(DAILY_ALLOWANCE)))
                .collect(),
        )
    }

    /// Spends one call of `code` and tells how many are left.
    pub(crate) fn spend(&self, code: &str) -> u64 {
        let Some(left) = self.0.get(code) else {
            return 0;
        };
        let before = left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            })
            .unwrap_or_default();
        before.saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_threshold_then_refuses_until_the_window_slides() {
        let threshold = Threshold::new(["DEMO_A", "DEMO_B"], 3);
        let admitted = (0..5).filter(|_| threshold.admit("DEMO_A")).count();
        assert_eq!(admitted, 3);
        assert!(
            threshold.admit("DEMO_B"),
            "each institution has its own window"
        );
        std::thread::sleep(WINDOW + Duration::from_millis(20));
        assert!(threshold.admit("DEMO_A"));
    }

    #[test]
    fn the_allowance_decreases_with_each_call() {
        let allowance = DailyAllowance::new(["DEMO_A"]);
        let first = allowance.spend("DEMO_A");
        assert_eq!(allowance.spend("DEMO_A"), first - 1);
        assert_eq!(allowance.spend("NOWHERE"), 0);
    }
}
