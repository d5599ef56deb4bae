//! How many PutEvents requests delivery keeps in flight: an adaptive window (additive increase,
//! multiplicative decrease), as TCP and Vector's adaptive request concurrency do.
//!
//! A fixed window is wrong both ways. One request at a time caps a poller at about 400 events/s
//! on AWS latencies, far below Okta's 1 800. Sixteen at once against a bus that is throttling, or
//! a slow endpoint, turns every request into a timeout and every timeout into a retry of ten
//! entries. So the window starts small, grows by one after a window's worth of acknowledged
//! requests, and halves when a request times out, fails transiently or is throttled. It never
//! leaves `1..=max`.
//!
//! One window lives as long as the [`super::DeliveryPolicy`] that holds it (a poller invocation,
//! or a warm events function), so what one page learns about the bus, the next page keeps.

use crate::limits::PUT_EVENTS_IN_FLIGHT_START as IN_FLIGHT_START;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The adaptive number of requests in flight.
#[derive(Debug)]
pub struct InFlightWindow {
    max: usize,
    current: AtomicUsize,
    /// Acknowledged requests since the window last changed.
    since_change: AtomicUsize,
}

impl InFlightWindow {
    /// A window that never exceeds `max` (at least 1).
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Self {
            max,
            current: AtomicUsize::new(IN_FLIGHT_START.min(max)),
            since_change: AtomicUsize::new(0),
        }
    }

    /// The bound set by configuration.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Requests that may be in flight now.
    pub fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed)
    }

    /// A request was answered without a sign of overload: after a full window of those, the
    /// window grows by one.
    pub fn acknowledged(&self) {
        let current = self.current();
        if self.since_change.fetch_add(1, Ordering::Relaxed) + 1 >= current && current < self.max {
            self.current.store(current + 1, Ordering::Relaxed);
            self.since_change.store(0, Ordering::Relaxed);
        }
    }

    /// A request timed out, failed transiently or was throttled: the window halves.
    pub fn overloaded(&self) {
        let halved = (self.current() / 2).max(1);
        self.current.store(halved, Ordering::Relaxed);
        self.since_change.store(0, Ordering::Relaxed);
    }
}

impl Clone for InFlightWindow {
    /// A fresh window with the same bound: what a copy of a policy should start from.
    fn clone(&self) -> Self {
        Self::new(self.max)
    }
}

impl PartialEq for InFlightWindow {
    fn eq(&self, other: &Self) -> bool {
        self.max == other.max
    }
}

impl Eq for InFlightWindow {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_starts_small_grows_by_one_per_window_and_stops_at_the_bound() {
        let w = InFlightWindow::new(6);
        assert_eq!(w.current(), IN_FLIGHT_START);
        for _ in 0..IN_FLIGHT_START {
            w.acknowledged();
        }
        assert_eq!(w.current(), IN_FLIGHT_START + 1);
        for _ in 0..100 {
            w.acknowledged();
        }
        assert_eq!(w.current(), 6);
    }

    #[test]
    fn overload_halves_the_window_down_to_one() {
        let w = InFlightWindow::new(16);
        for _ in 0..200 {
            w.acknowledged();
        }
        assert_eq!(w.current(), 16);
        w.overloaded();
        assert_eq!(w.current(), 8);
        for _ in 0..10 {
            w.overloaded();
        }
        assert_eq!(w.current(), 1);
        w.acknowledged();
        assert_eq!(
            w.current(),
            2,
            "one acknowledged request is a full window of one"
        );
    }

    #[test]
    fn a_bound_below_the_start_is_the_start() {
        assert_eq!(InFlightWindow::new(1).current(), 1);
        assert_eq!(InFlightWindow::new(0).max(), 1);
        assert_eq!(InFlightWindow::new(2).clone().current(), 2);
    }
}
