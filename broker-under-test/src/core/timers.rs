//! Deadlines. Connections have the CONNECT timeout, the keep alive timeout, and (with a
//! fault) a delayed close; sessions have their expiry and a delayed will. Each key has at
//! most one deadline at a time; the set is ordered by time, then key, so expiry order is
//! deterministic.

use super::Time;
use std::collections::BTreeSet;
use std::time::Duration;

#[derive(Debug)]
pub(crate) struct Timers<K> {
    due: BTreeSet<(Time, K)>,
}

impl<K> Default for Timers<K> {
    fn default() -> Self {
        Self {
            due: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Clone> Timers<K> {
    /// Moves `conn`'s deadline from `old` to `new`, and stores `new` in `slot`.
    pub fn reset(&mut self, conn: K, slot: &mut Option<Time>, new: Option<Time>) {
        if *slot == new {
            return;
        }
        if let Some(old) = slot.take() {
            self.due.remove(&(old, conn.clone()));
        }
        if let Some(t) = new {
            self.due.insert((t, conn));
        }
        *slot = new;
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Time> {
        self.due.first().map(|(t, _)| *t)
    }

    /// Takes the earliest deadline if it is due at `now`.
    pub fn pop_due(&mut self, now: Time) -> Option<K> {
        match self.due.first() {
            Some((t, _)) if *t <= now => self.due.pop_first().map(|(_, k)| k),
            _ => None,
        }
    }
}

/// How long a client may stay silent: one and a half times its keep alive
/// (3.1.1/MQTT-3.1.2-24). `None` for keep alive 0, which turns the mechanism off.
pub(crate) fn keep_alive_grace(keep_alive: u16) -> Option<Duration> {
    (keep_alive > 0).then(|| Duration::from_millis(u64::from(keep_alive) * 1500))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ConnId;

    #[test]
    fn deadlines_move_and_expire_in_order() {
        let mut t = Timers::default();
        let (a, b) = (ConnId(1), ConnId(2));
        let (mut sa, mut sb) = (None, None);
        t.reset(a, &mut sa, Some(Duration::from_secs(5)));
        t.reset(b, &mut sb, Some(Duration::from_secs(3)));
        assert_eq!(t.next(), Some(Duration::from_secs(3)));
        t.reset(b, &mut sb, Some(Duration::from_secs(9)));
        assert_eq!(t.next(), Some(Duration::from_secs(5)));
        assert_eq!(t.pop_due(Duration::from_secs(4)), None);
        assert_eq!(t.pop_due(Duration::from_secs(9)), Some(a));
        assert_eq!(t.pop_due(Duration::from_secs(9)), Some(b));
        assert_eq!(t.next(), None);
    }

    #[test]
    fn grace_is_one_and_a_half_keep_alives() {
        assert_eq!(keep_alive_grace(0), None);
        assert_eq!(keep_alive_grace(1), Some(Duration::from_millis(1500)));
        assert_eq!(keep_alive_grace(60), Some(Duration::from_secs(90)));
    }
}
