//! Bounded per-key tumbling windows (Zeek's SumStats, simplified): each
//! key (a source, a destination, a pair, a domain) has a window that
//! starts with its first event and restarts with the first event after
//! it expired. The table never holds more than its cap: when full,
//! expired keys and keys seen only once are dropped first (a flood of
//! spoofed one-packet sources cannot push real attackers out), then, if
//! that freed nothing, every key.

use std::collections::HashMap;
use std::hash::Hash;

/// One key's window.
#[derive(Debug, Clone, Default)]
pub struct Slot<V> {
    /// Time of the window's first event.
    pub start_ns: i64,
    /// Time of its last event.
    pub last_ns: i64,
    /// Events in the window.
    pub events: u64,
    /// Evidence frames of the window (first ones, at most [`SLOT_EVIDENCE`]).
    pub evidence: Vec<u64>,
    /// Per-detector state.
    pub v: V,
}

/// Evidence frames a window keeps before an alert takes over.
pub const SLOT_EVIDENCE: usize = 16;

impl<V> Slot<V> {
    /// Counts one event (with its frame, when it has one).
    pub fn note(&mut self, ts_ns: i64, pkt_no: Option<u64>) {
        self.events += 1;
        self.last_ns = self.last_ns.max(ts_ns);
        if let Some(p) = pkt_no {
            if self.evidence.len() < SLOT_EVIDENCE {
                self.evidence.push(p);
            }
        }
    }
}

/// Bounded keyed windows.
#[derive(Debug)]
pub struct Windows<K, V> {
    map: HashMap<K, Slot<V>, foldhash::fast::RandomState>,
    cap: usize,
    window_ns: i64,
    /// Keys dropped to stay within the cap.
    pub dropped: u64,
}

impl<K: Hash + Eq, V: Default> Windows<K, V> {
    /// Windows of `window_ns` for at most `cap` keys.
    pub fn new(cap: usize, window_ns: i64) -> Self {
        Windows {
            map: HashMap::default(),
            cap: cap.max(1),
            window_ns,
            dropped: 0,
        }
    }

    /// The key's current window at `ts_ns` (new or restarted when expired).
    pub fn hit(&mut self, key: K, ts_ns: i64) -> &mut Slot<V> {
        if self.map.len() >= self.cap && !self.map.contains_key(&key) {
            self.make_room(ts_ns);
        }
        let window_ns = self.window_ns;
        let slot = self.map.entry(key).or_insert_with(|| Slot {
            start_ns: ts_ns,
            last_ns: ts_ns,
            ..Slot::default()
        });
        if ts_ns.saturating_sub(slot.start_ns) > window_ns {
            *slot = Slot {
                start_ns: ts_ns,
                last_ns: ts_ns,
                ..Slot::default()
            };
        }
        slot
    }

    /// The key's window, if it is tracked and not expired at `ts_ns`.
    pub fn get_mut(&mut self, key: &K, ts_ns: i64) -> Option<&mut Slot<V>> {
        let window_ns = self.window_ns;
        self.map
            .get_mut(key)
            .filter(|s| ts_ns.saturating_sub(s.start_ns) <= window_ns)
    }

    /// Keys tracked.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn make_room(&mut self, ts_ns: i64) {
        let before = self.map.len();
        let window_ns = self.window_ns;
        self.map
            .retain(|_, s| ts_ns.saturating_sub(s.start_ns) <= window_ns && s.events > 1);
        if self.map.len() >= self.cap {
            self.map.clear();
        }
        self.dropped += (before - self.map.len()) as u64;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn windows_restart_after_they_expire() {
        let mut w: Windows<u32, ()> = Windows::new(10, 100);
        w.hit(1, 0).note(0, Some(1));
        w.hit(1, 50).note(50, Some(2));
        assert_eq!(w.hit(1, 100).events, 2);
        let s = w.hit(1, 101);
        assert_eq!((s.events, s.start_ns), (0, 101));
        assert!(w.get_mut(&1, 500).is_none());
    }

    #[test]
    fn a_flood_of_one_event_keys_stays_bounded_and_spares_busy_keys() {
        let mut w: Windows<u32, ()> = Windows::new(1000, 1_000_000);
        for _ in 0..5 {
            w.hit(0, 0).note(0, None);
        }
        for k in 1..1_000_000u32 {
            w.hit(k, 1).note(1, None);
            assert!(w.len() <= 1000);
        }
        assert_eq!(w.get_mut(&0, 2).map(|s| s.events), Some(5));
        assert!(w.dropped > 990_000);
    }
}
