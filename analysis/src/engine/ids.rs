//! Run-wide flow ids for flows numbered by their shards.
//!
//! Each shard's table numbers its own flows 1, 2, 3… The back gives each
//! new flow the next run-wide id as it replays the shards' reports in
//! frame order, which is the order one table would have numbered them
//! in. With one shard the two numberings are the same and nothing is
//! mapped.

use crate::flow::table::{EXPECTATION_TIMEOUT_NS, MAX_EXPECTATIONS};
use crate::flow::Flow;
use std::collections::{HashMap, HashSet};

/// The map from (shard, shard-local id) to run-wide ids.
pub(crate) struct Ids {
    /// Off with one shard.
    enabled: bool,
    next: u64,
    /// Live flows: (shard, local) → (run-wide id, run-wide parent).
    live: HashMap<(usize, u64), (u64, Option<u64>)>,
    /// Ended flows that announced connections (FTP control channels),
    /// kept while their announcements can still be taken up: (shard,
    /// local) → (run-wide id, forget after).
    announcers: HashMap<(usize, u64), (u64, i64)>,
    /// Live flows that announced connections.
    announcing: HashSet<(usize, u64)>,
    /// Most ended announcing flows remembered: as many announcements as
    /// the shards' tables wait for ([`MAX_EXPECTATIONS`] each).
    max_announcers: usize,
    /// Ended announcing flows forgotten before their announcements
    /// expired (the map was full): counted with the tables' dropped
    /// expectations, as their data connections go unlinked.
    pub(crate) announcers_dropped: u64,
}

impl Ids {
    pub(crate) fn new(shards: usize) -> Self {
        Ids {
            enabled: shards > 1,
            next: 1,
            live: HashMap::new(),
            announcers: HashMap::new(),
            announcing: HashSet::new(),
            max_announcers: shards * MAX_EXPECTATIONS,
            announcers_dropped: 0,
        }
    }

    /// A flow the shard just created, announced by `parent` (local ids).
    pub(crate) fn created(&mut self, shard: usize, local: u64, parent: Option<u64>) {
        if !self.enabled {
            return;
        }
        let parent = parent.and_then(|p| {
            self.live
                .get(&(shard, p))
                .map(|v| v.0)
                .or_else(|| self.announcers.get(&(shard, p)).map(|v| v.0))
        });
        self.live.insert((shard, local), (self.next, parent));
        self.next += 1;
    }

    /// The run-wide id of a live flow of `shard`.
    pub(crate) fn id(&self, shard: usize, local: u64) -> u64 {
        if !self.enabled {
            return local;
        }
        // Every id a shard reports was created before (unmapped only if
        // the shard broke its contract; 0 then, as for no flow).
        self.live.get(&(shard, local)).map_or(0, |v| v.0)
    }

    /// Notes that a live flow announced a connection.
    pub(crate) fn announced(&mut self, shard: usize, local: u64) {
        if self.enabled {
            self.announcing.insert((shard, local));
        }
    }

    /// Renumbers an ended flow and forgets its local id (keeping it a
    /// while if it announced connections).
    pub(crate) fn ended(&mut self, shard: usize, f: &mut Flow) {
        if !self.enabled {
            return;
        }
        let key = (shard, f.id);
        let Some((id, parent)) = self.live.remove(&key) else {
            f.id = 0;
            return;
        };
        if self.announcing.remove(&key) {
            if self.announcers.len() >= self.max_announcers {
                self.make_room(f.last_ts_ns);
            }
            self.announcers.insert(
                key,
                (id, f.last_ts_ns.saturating_add(EXPECTATION_TIMEOUT_NS)),
            );
        }
        f.id = id;
        f.parent_id = parent;
    }

    /// Frees one place in the full announcer map: the expired entries
    /// if any, else the one that would expire first.
    fn make_room(&mut self, now_ns: i64) {
        self.expire(now_ns);
        if self.announcers.len() < self.max_announcers {
            return;
        }
        let first = self
            .announcers
            .iter()
            .min_by_key(|(k, (_, until))| (*until, **k))
            .map(|(k, _)| *k);
        if let Some(k) = first {
            self.announcers.remove(&k);
            self.announcers_dropped += 1;
        }
    }

    /// Forgets announcing flows whose announcements expired by `now_ns`.
    pub(crate) fn expire(&mut self, now_ns: i64) {
        if !self.announcers.is_empty() {
            self.announcers.retain(|_, (_, until)| *until >= now_ns);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_are_numbered_in_the_order_the_back_sees_them_created() {
        let mut ids = Ids::new(2);
        // Shard 1 made its flow 1 first, then shard 0 its flows 1 and 2.
        ids.created(1, 1, None);
        ids.created(0, 1, None);
        ids.created(0, 2, None);
        assert_eq!((ids.id(1, 1), ids.id(0, 1), ids.id(0, 2)), (1, 2, 3));
        assert_eq!(ids.id(1, 2), 0, "never created");
    }

    #[test]
    fn an_ended_announcer_still_parents_its_data_connection_until_expiry() {
        let mut ids = Ids::new(2);
        ids.created(0, 1, None); // FTP control: run-wide 1
        ids.created(1, 1, None); // elsewhere: run-wide 2
        ids.announced(0, 1);
        let mut control = crate::flow::table::tests_support::flow(1, 1_000);
        ids.ended(0, &mut control);
        assert_eq!(control.id, 1);
        // The data connection starts after its control connection ended.
        ids.created(0, 2, Some(1));
        let mut data = crate::flow::table::tests_support::flow(2, 2_000);
        ids.ended(0, &mut data);
        assert_eq!((data.id, data.parent_id), (3, Some(1)));
        // Past the expectation timeout the announcer is forgotten.
        ids.expire(1_000 + EXPECTATION_TIMEOUT_NS + 1);
        ids.created(0, 3, Some(1));
        let mut late = crate::flow::table::tests_support::flow(3, 3_000);
        ids.ended(0, &mut late);
        assert_eq!((late.id, late.parent_id), (4, None));
    }

    #[test]
    fn a_full_announcer_map_forgets_the_expired_then_the_oldest() {
        let mut ids = Ids::new(2);
        let max = 2 * MAX_EXPECTATIONS as u64;
        let end_announcer = |ids: &mut Ids, local: u64, ts: i64| {
            ids.created(0, local, None);
            ids.announced(0, local);
            let mut f = crate::flow::table::tests_support::flow(local, ts);
            ids.ended(0, &mut f);
            f.id
        };
        let first = end_announcer(&mut ids, 1, 0);
        for local in 2..=max {
            end_announcer(&mut ids, local, 1_000);
        }
        // Full: the next one pushes out the first to expire, counted.
        let newest = end_announcer(&mut ids, max + 1, 2_000);
        assert_eq!(ids.announcers_dropped, 1);
        ids.created(0, max + 2, Some(1));
        ids.created(0, max + 3, Some(max + 1));
        let parent = |ids: &mut Ids, local| {
            let mut f = crate::flow::table::tests_support::flow(local, 3_000);
            ids.ended(0, &mut f);
            f.parent_id
        };
        assert_ne!(first, 0);
        assert_eq!(parent(&mut ids, max + 2), None);
        assert_eq!(parent(&mut ids, max + 3), Some(newest));
        // Once the others expired, room is made without a drop.
        end_announcer(&mut ids, max + 4, 1_000 + EXPECTATION_TIMEOUT_NS + 1);
        assert_eq!(ids.announcers_dropped, 1);
        assert_eq!(ids.announcers.len(), 2);
    }

    #[test]
    fn one_shard_keeps_the_tables_own_ids() {
        let mut ids = Ids::new(1);
        ids.created(0, 7, Some(3));
        assert_eq!(ids.id(0, 7), 7);
        let mut f = crate::flow::table::tests_support::flow(7, 0);
        f.parent_id = Some(3);
        ids.ended(0, &mut f);
        assert_eq!((f.id, f.parent_id), (7, Some(3)));
    }
}
