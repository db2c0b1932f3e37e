//! Pacing of the calls to one institution under its per-second threshold.
//!
//! A "next free slot" scheduler: a caller takes the next slot under a short lock
//! (the slot is at least one interval after the previous one) and then sleeps
//! until it, without holding the lock. Every task calling the institution shares
//! the same pacer, so concurrent workers never exceed the rate together, and a
//! steady stream of calls runs at the rate.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// A whole share, in thousandths.
const WHOLE: u32 = 1000;

/// The pace of calls to one institution.
#[derive(Debug)]
pub(crate) struct Pacer {
    calls_per_second: u32,
    /// The share of `calls_per_second` this process may use now, in thousandths.
    share: AtomicU32,
    next_free: Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer allowing `calls_per_second` calls per second (at least 1).
    pub(crate) fn new(calls_per_second: u32) -> Self {
        Self {
            calls_per_second: calls_per_second.max(1),
            share: AtomicU32::new(WHOLE),
            next_free: Mutex::new(None),
        }
    }

    /// Lets this pacer use only `share` (0 to 1) of its calls per second
    /// from the next slot on, at least one call a second: another process
    /// (a backfill, a reconcile) uses the rest of the institution's budget.
    pub(crate) fn set_share(&self, share: f64) {
        let thousandths = (share.clamp(0.0, 1.0) * f64::from(WHOLE)).round() as u32;
        self.share.store(thousandths, Ordering::Relaxed);
    }

    /// The share set last (1 when none was).
    pub(crate) fn share(&self) -> f64 {
        f64::from(self.share.load(Ordering::Relaxed)) / f64::from(WHOLE)
    }

    /// The time between two slots at the current share.
    fn interval(&self) -> Duration {
        let share = self.share.load(Ordering::Relaxed);
        let rate = (u64::from(self.calls_per_second) * u64::from(share) / u64::from(WHOLE)).max(1);
        Duration::from_secs(1) / u32::try_from(rate).unwrap_or(u32::MAX)
    }

    /// Waits for this caller's slot, and returns it.
    pub(crate) async fn wait_turn(&self) -> Instant {
        let slot = self.take_slot(Instant::now());
        tokio::time::sleep_until(slot).await;
        slot
    }

    /// After Alma answered 429, holds every caller of the institution back for
    /// `pause` (Alma counts per second): a burst that slipped past the pacer,
    /// or another client using the same API key, must not turn into a storm of
    /// refused calls.
    pub(crate) fn cool_down(&self, pause: Duration) {
        self.hold_until(Instant::now() + pause);
    }

    fn hold_until(&self, until: Instant) {
        let mut next_free = self
            .next_free
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *next_free = Some(next_free.map_or(until, |free| free.max(until)));
    }

    /// Books the first free slot at or after `now`. The lock is held only here.
    fn take_slot(&self, now: Instant) -> Instant {
        let mut next_free = self
            .next_free
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = next_free.map_or(now, |free| free.max(now));
        *next_free = Some(slot + self.interval());
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn slots_booked_at_once_are_one_interval_apart() {
        let pacer = Pacer::new(20);
        let now = Instant::now();
        let slots: Vec<Instant> = (0..10).map(|_| pacer.take_slot(now)).collect();
        assert_eq!(slots[0], now);
        for (i, pair) in slots.windows(2).enumerate() {
            assert_eq!(
                pair[1] - pair[0],
                Duration::from_millis(50),
                "slots {i} and {}",
                i + 1
            );
        }
    }

    #[test]
    fn a_cool_down_holds_the_next_slots_back() {
        let pacer = Pacer::new(20);
        let start = Instant::now();
        assert_eq!(pacer.take_slot(start), start);
        pacer.hold_until(start + Duration::from_secs(1));
        assert_eq!(pacer.take_slot(start), start + Duration::from_secs(1));
        assert_eq!(pacer.take_slot(start), start + Duration::from_millis(1050));
        // A cool-down never moves already-later slots earlier.
        pacer.hold_until(start);
        assert_eq!(pacer.take_slot(start), start + Duration::from_millis(1100));
    }

    #[test]
    fn a_share_of_the_rate_spaces_the_slots_out() {
        let pacer = Pacer::new(20);
        let now = Instant::now();
        pacer.set_share(0.5);
        let half: Vec<Instant> = (0..3).map(|_| pacer.take_slot(now)).collect();
        assert_eq!(half[1] - half[0], Duration::from_millis(100), "10 a second");
        pacer.set_share(0.0);
        let (a, b) = (pacer.take_slot(now), pacer.take_slot(now));
        assert_eq!(
            b - a,
            Duration::from_secs(1),
            "never less than one call a second"
        );
        pacer.set_share(1.0);
        let (c, d) = (pacer.take_slot(now), pacer.take_slot(now));
        assert_eq!(d - c, Duration::from_millis(50), "the whole rate again");
    }

    #[test]
    fn an_idle_pacer_gives_the_current_time_and_never_a_past_slot() {
        let pacer = Pacer::new(10);
        let start = Instant::now();
        assert_eq!(pacer.take_slot(start), start);
        // Booked 20 ms later: the next free slot is still 80 ms ahead.
        assert_eq!(
            pacer.take_slot(start + Duration::from_millis(20)),
            start + Duration::from_millis(100)
        );
        // Long after: no credit is saved up for a burst.
        let later = start + Duration::from_secs(5);
        assert_eq!(pacer.take_slot(later), later);
        assert_eq!(pacer.take_slot(later), later + Duration::from_millis(100));
    }

    // Real time (the workspace's tokio has no `test-util`, so no paused clock):
    // lower bounds only, which scheduling delays cannot break.
    #[tokio::test]
    async fn concurrent_callers_share_the_rate_and_are_never_bunched() {
        const CALLS: u32 = 21;
        const RATE: u32 = 100;
        let pacer = Arc::new(Pacer::new(RATE));
        let start = Instant::now();
        let tasks: Vec<_> = (0..CALLS)
            .map(|_| {
                let pacer = Arc::clone(&pacer);
                tokio::spawn(async move {
                    let slot = pacer.wait_turn().await;
                    (slot, Instant::now())
                })
            })
            .collect();
        let mut turns = Vec::new();
        for task in tasks {
            turns.push(task.await.expect("pacing task"));
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_secs(1) * (CALLS - 1) / RATE,
            "{CALLS} calls at {RATE}/s took only {elapsed:?}"
        );
        for (slot, woke) in &turns {
            assert!(woke >= slot, "a caller went before its slot");
        }
        let mut slots: Vec<Instant> = turns.iter().map(|(slot, _)| *slot).collect();
        slots.sort();
        for pair in slots.windows(2) {
            assert!(
                pair[1] - pair[0] >= Duration::from_millis(10),
                "two slots {:?} apart",
                pair[1] - pair[0]
            );
        }
    }
}
