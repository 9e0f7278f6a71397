//! IP defragmentation (IPv4 RFC 791 §3.2, IPv6 RFC 8200 §4.5) with
//! bounded memory.
//!
//! # Contract
//! - Trains are keyed by (source, destination, identification, IPv4
//!   protocol) as the RFCs say, plus the VLAN stack, the outermost tunnel
//!   and the overlay depth, so that identical inner addresses in different
//!   overlays or VLANs never mix.
//! - Overlap policy is **first wins**: bytes already received are kept and
//!   later copies are only compared (Suricata's "bsd"-like behaviour for
//!   full overlaps; it is also what Windows targets do). Differing bytes
//!   raise `FragOverlap` on the frame that brought them. IPv6 overlaps are
//!   reassembled too, although RFC 8200 §4.5 (after RFC 5722) tells hosts to
//!   drop such datagrams: an IDS has to see what a lenient host would.
//! - A fragment that would shrink or reshape the datagram is discarded with
//!   `FragInvalid` and the train goes on: a last fragment ending before data
//!   already received (teardrop), a second last fragment with another end, a
//!   fragment extending past the known end, and an IPv6 non-last fragment
//!   whose length is not a multiple of 8 (RFC 8200 §4.5; for IPv4 the
//!   excess tail is ignored instead, as Linux does).
//! - A datagram that would exceed 65,535 bytes (IPv4 total length, IPv6
//!   payload length) raises `FragTooLarge` (ping of death) and the train is
//!   dropped.
//! - Caps: trains, bytes held and fragments per train are bounded by
//!   [`DefragConfig`]. When a cap bites, the oldest train is evicted and
//!   reported with `FragCapReached`; a train that alone exceeds a cap is
//!   dropped with `FragCapReached` on the frame that hit it.
//! - A train expires `timeout_ns` after its first fragment arrived (RFC 8200
//!   §4.5: "within 60 seconds of the reception of the first-arriving
//!   fragment"), judged on capture time. Stale trains are also swept on
//!   every fragment, so a late fragment never joins one.
//!
//! # Cost
//! Received data is stored once, as disjoint pieces in a `BTreeMap` by
//! offset (adjacent in-order pieces are appended to, not split), so each
//! fragment costs O(log n + overlapped pieces), and completion copies each
//! byte once more into the datagram.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use super::ip::{ipv4_checksum, FragInfo, IpLayer};
use super::meta::{DecodeAnomaly, IpMeta, PacketMeta, TunnelCtx, VlanStack};

/// Limits of the defragmenter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragConfig {
    /// Fragment bytes held across all trains (default 16 MiB).
    pub max_bytes: usize,
    /// Trains held at once (default 4096).
    pub max_trains: usize,
    /// Fragments accepted per train (default 2048: a legal 65,535-byte
    /// datagram can arrive in 1,024 fragments, as in suricata-verify's
    /// defrag tests, and duplicates count too).
    pub max_frags_per_train: usize,
    /// Capture-time lifetime of a train from its first fragment (default
    /// 60 s, RFC 8200 §4.5, also Suricata's default; Linux uses 30 s).
    pub timeout_ns: i64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_bytes: 16 << 20,
            max_trains: 4096,
            max_frags_per_train: 2048,
            timeout_ns: 60_000_000_000,
        }
    }
}

/// Defragmentation counters (totals since creation, except the `*_held`
/// gauges).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Trains created.
    pub trains: u64,
    /// Trains reassembled into a datagram.
    pub completed: u64,
    /// Trains expired by the timeout.
    pub timed_out: u64,
    /// Trains dropped because a cap (trains, bytes, fragments) was reached.
    pub evicted_by_cap: u64,
    /// Fragments that overlapped earlier data with different bytes.
    pub overlaps: u64,
    /// Fragments discarded as inconsistent (`FragInvalid`).
    pub invalid: u64,
    /// Datagrams dropped as larger than 65,535 bytes.
    pub too_large: u64,
    /// Bytes currently held (fragment data plus saved headers).
    pub bytes_held: usize,
    /// Trains currently held.
    pub trains_held: usize,
}

/// A train that ended without completing: its frames and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredTrain {
    /// pkt_nos of the frames whose fragments were held, in pkt_no order.
    pub fragments: Vec<u64>,
    /// IP layer of the train's first-seen fragment (for IPv6, `proto` is
    /// the Fragment header's Next Header).
    pub ip: IpMeta,
    /// Why it ended: `FragTimeout`, `FragCapReached` or `FragTooLarge`.
    pub anomalies: Vec<DecodeAnomaly>,
}

/// Identity of a fragment train.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    /// IPv4 protocol (RFC 791 §3.2); 0 for IPv6, whose key has none.
    proto: u8,
    vlans: VlanStack,
    tunnel: Option<TunnelCtx>,
    depth: u8,
}

impl FragKey {
    /// Key of the fragment `ip`/`f`, decoded in the context of `meta`
    /// (VLANs, outermost tunnel) at overlay depth `depth`.
    pub(crate) fn new(ip: &IpLayer, f: &FragInfo, meta: &PacketMeta, depth: u8) -> Self {
        FragKey {
            src: ip.meta.src,
            dst: ip.meta.dst,
            id: f.id,
            proto: if ip.meta.src.is_ipv4() {
                f.next_header
            } else {
                0
            },
            vlans: meta.vlans,
            tunnel: meta.tunnel,
            depth,
        }
    }
}

/// One fragment as the walker found it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fragment<'a> {
    /// Its IP layer (`l4` is the fragment data, `declared_end` its end).
    pub ip: &'a IpLayer,
    /// Its fragmentation fields.
    pub info: &'a FragInfo,
    /// The buffer `ip`'s offsets index.
    pub buf: &'a [u8],
    /// The frames that brought it (several when it came out of a
    /// reassembled outer datagram).
    pub contributors: &'a [u64],
}

/// What became of a pushed fragment.
#[derive(Debug)]
pub(crate) enum PushOutcome {
    /// Buffered; the train is incomplete.
    Held,
    /// Not buffered (invalid, too large, over a cap); anomalies say why.
    Dropped,
    /// The train completed.
    Complete {
        /// The reassembled IP packet.
        datagram: Vec<u8>,
        /// Contributing pkt_nos, sorted and deduplicated.
        fragments: Vec<u64>,
    },
}

/// One datagram being reassembled.
#[derive(Debug)]
struct Train {
    /// Key into the age index: (first-arrival time, creation sequence).
    age: (i64, u64),
    ip: IpMeta,
    v6: bool,
    /// Unfragmentable part from the offset-0 fragment (first one wins).
    header: Option<Vec<u8>>,
    /// IPv6: offset in `header` of the Next Header byte to patch.
    nh_pos: usize,
    /// Protocol / Next Header of the offset-0 fragment.
    next_header: u8,
    /// Disjoint received data, by offset in the datagram payload.
    pieces: BTreeMap<u32, Vec<u8>>,
    /// Bytes covered by `pieces`.
    covered: u32,
    /// Payload length, once the last fragment arrived.
    total: Option<u32>,
    /// Largest fragment end declared so far.
    max_end: u32,
    pkt_nos: Vec<u64>,
    frags: usize,
    /// Bytes accounted to this train.
    bytes: usize,
}

impl Train {
    /// Insert `data` at `start`, first wins. Returns whether overlapped
    /// bytes differed, and how many bytes were new.
    fn insert(&mut self, start: u32, data: &[u8]) -> (bool, usize) {
        if data.is_empty() {
            return (false, 0);
        }
        let end = start.saturating_add(u32::try_from(data.len()).unwrap_or(u32::MAX));
        let mut differs = false;
        let mut gaps: Vec<(u32, u32)> = Vec::new();
        let mut cursor = start;
        let from = self
            .pieces
            .range(..=start)
            .next_back()
            .map_or(start, |(s, _)| *s);
        for (&ps, pd) in self.pieces.range(from..end) {
            let pe = ps.saturating_add(u32::try_from(pd.len()).unwrap_or(u32::MAX));
            if pe <= cursor {
                continue;
            }
            if ps > cursor {
                gaps.push((cursor, ps));
            }
            let (os, oe) = (ps.max(cursor), pe.min(end));
            let new = data.get(idx(os - start)..idx(oe - start));
            let old = pd.get(idx(os - ps)..idx(oe - ps));
            if new != old {
                differs = true;
            }
            cursor = oe;
            if cursor >= end {
                break;
            }
        }
        if cursor < end {
            gaps.push((cursor, end));
        }
        let mut added = 0;
        for (gs, ge) in gaps {
            let Some(bytes) = data.get(idx(gs - start)..idx(ge - start)) else {
                continue;
            };
            added += bytes.len();
            // Extend the piece just before when adjacent (in-order arrival).
            match self.pieces.range_mut(..gs).next_back() {
                Some((&ps, pd)) if ps as usize + pd.len() == gs as usize => {
                    pd.extend_from_slice(bytes)
                }
                _ => {
                    self.pieces.insert(gs, bytes.to_vec());
                }
            }
        }
        self.covered = self
            .covered
            .saturating_add(u32::try_from(added).unwrap_or(u32::MAX));
        (differs, added)
    }

    /// Every byte and the first fragment's header are there.
    fn is_complete(&self) -> bool {
        self.header.is_some() && self.total == Some(self.covered)
    }

    /// Rebuild the datagram; `None` when incomplete or when its length does
    /// not fit the 16-bit length field.
    fn assemble(&self) -> Option<Vec<u8>> {
        let (total, header) = (self.total?, self.header.as_ref()?);
        if self.covered != total {
            return None;
        }
        let mut d = Vec::with_capacity(header.len() + idx(total));
        d.extend_from_slice(header);
        for p in self.pieces.values() {
            d.extend_from_slice(p);
        }
        if self.v6 {
            // RFC 8200 §4.5: payload length = unfragmentable part after the
            // fixed header + reassembled data; the header that named the
            // Fragment header now names what followed it.
            let plen = u16::try_from(header.len().saturating_sub(40) + idx(total)).ok()?;
            d.get_mut(4..6)?.copy_from_slice(&plen.to_be_bytes());
            *d.get_mut(self.nh_pos)? = self.next_header;
        } else {
            let len = u16::try_from(d.len()).ok()?;
            d.get_mut(2..4)?.copy_from_slice(&len.to_be_bytes());
            // Clear MF and the offset, keep DF and the reserved bit.
            *d.get_mut(6)? &= 0xC0;
            *d.get_mut(7)? = 0;
            let hdr = d.get(..header.len())?;
            let sum = ipv4_checksum(hdr);
            d.get_mut(10..12)?.copy_from_slice(&sum.to_be_bytes());
        }
        Some(d)
    }

    fn into_expired(mut self, why: DecodeAnomaly) -> ExpiredTrain {
        self.pkt_nos.sort_unstable();
        self.pkt_nos.dedup();
        ExpiredTrain {
            fragments: self.pkt_nos,
            ip: self.ip,
            anomalies: vec![why],
        }
    }
}

fn idx(v: u32) -> usize {
    v as usize
}

/// The fragment store. One per [`super::Decoder`].
#[derive(Debug, Default)]
pub(crate) struct Defragmenter {
    cfg: DefragConfig,
    trains: HashMap<FragKey, Train>,
    /// Trains by (first-arrival time, sequence): oldest first.
    age: BTreeMap<(i64, u64), FragKey>,
    seq: u64,
    /// Trains ended outside `expire` (caps, too large, lazy timeouts),
    /// handed out by the next `expire`.
    pending: Vec<ExpiredTrain>,
    stats: DefragStats,
}

impl Defragmenter {
    /// An empty store with limits `cfg`.
    pub(crate) fn new(cfg: DefragConfig) -> Self {
        Defragmenter {
            cfg,
            ..Default::default()
        }
    }

    /// Counters, with the gauges filled in.
    pub(crate) fn stats(&self) -> DefragStats {
        DefragStats {
            trains_held: self.trains.len(),
            ..self.stats
        }
    }

    /// Trains ended since the last `expire` and not handed out yet.
    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Expire trains at capture time `now_ns` and hand out every train
    /// ended since the last call.
    pub(crate) fn expire(&mut self, now_ns: i64) -> Vec<ExpiredTrain> {
        self.sweep(now_ns);
        std::mem::take(&mut self.pending)
    }

    fn sweep(&mut self, now_ns: i64) {
        while let Some((&(first, _), key)) = self.age.first_key_value() {
            if first.saturating_add(self.cfg.timeout_ns) > now_ns {
                break;
            }
            let key = key.clone();
            if let Some(t) = self.remove(&key) {
                self.stats.timed_out += 1;
                self.pending
                    .push(t.into_expired(DecodeAnomaly::FragTimeout));
            }
        }
    }

    fn remove(&mut self, key: &FragKey) -> Option<Train> {
        let t = self.trains.remove(key)?;
        self.age.remove(&t.age);
        self.stats.bytes_held = self.stats.bytes_held.saturating_sub(t.bytes);
        Some(t)
    }

    /// Drop `key`'s train (if any), reporting it with `why`.
    fn drop_train(&mut self, key: &FragKey, why: DecodeAnomaly) {
        if let Some(t) = self.remove(key) {
            self.pending.push(t.into_expired(why));
        }
    }

    /// Evict the oldest train other than `keep`; false when there is none.
    fn evict_oldest(&mut self, keep: &FragKey) -> bool {
        let victim = self.age.values().find(|k| *k != keep).cloned();
        match victim {
            Some(k) => {
                self.stats.evicted_by_cap += 1;
                self.drop_train(&k, DecodeAnomaly::FragCapReached);
                true
            }
            None => false,
        }
    }

    /// Add one fragment to train `key` at capture time `now_ns`. Anomalies
    /// of this fragment go to `out`.
    pub(crate) fn push(
        &mut self,
        key: FragKey,
        frag: Fragment<'_>,
        now_ns: i64,
        out: &mut Vec<DecodeAnomaly>,
    ) -> PushOutcome {
        let Fragment {
            ip,
            info: f,
            buf,
            contributors,
        } = frag;
        self.sweep(now_ns);
        let mut data = buf.get(ip.l4.clone()).unwrap_or_default();
        let mut declared = ip.declared_end.saturating_sub(ip.l4.start);
        let v6 = ip.meta.src.is_ipv6();
        // RFC 791 §3.2 / RFC 8200 §4.5: all but the last fragment carry a
        // multiple of 8 bytes. IPv6 says discard; for IPv4 the tail is
        // ignored, as Linux does (ip_fragment.c), which is also what makes
        // the classic teardrop's 36-byte first fragment count as 0..32.
        if f.more && !declared.is_multiple_of(8) {
            if v6 {
                return self.invalid(out);
            }
            declared &= !7;
            data = data.get(..declared.min(data.len())).unwrap_or_default();
        }
        let unfrag = f.unfrag_end.saturating_sub(f.ip_start);
        let start = u64::from(f.offset);
        let end = start + declared as u64;
        // RFC 791 §3.1 total length / RFC 8200 §3 payload length: 16 bits.
        let limit = if v6 { 65_535 + 40 } else { 65_535 };
        if unfrag as u64 + end > limit {
            self.stats.too_large += 1;
            out.push(DecodeAnomaly::FragTooLarge);
            self.drop_train(&key, DecodeAnomaly::FragTooLarge);
            return PushOutcome::Dropped;
        }
        let (start, end) = (start as u32, end as u32); // both < 2^17 here

        if let Some(t) = self.trains.get(&key) {
            let reshapes = match t.total {
                Some(total) => (!f.more && end != total) || end > total,
                None => !f.more && end < t.max_end,
            };
            if reshapes {
                return self.invalid(out);
            }
            if t.frags >= self.cfg.max_frags_per_train {
                return self.over_cap(&key, out);
            }
        } else if self.trains.len() >= self.cfg.max_trains && !self.evict_oldest(&key) {
            return self.over_cap(&key, out);
        }
        let need = data.len() + if f.offset == 0 { unfrag } else { 0 };
        while self.stats.bytes_held.saturating_add(need) > self.cfg.max_bytes {
            if !self.evict_oldest(&key) {
                return self.over_cap(&key, out);
            }
        }

        let train = match self.trains.get_mut(&key) {
            Some(t) => t,
            None => {
                self.seq += 1;
                self.stats.trains += 1;
                let age = (now_ns, self.seq);
                self.age.insert(age, key.clone());
                self.trains.entry(key.clone()).or_insert(Train {
                    age,
                    ip: ip.meta,
                    v6,
                    header: None,
                    nh_pos: 0,
                    next_header: 0,
                    pieces: BTreeMap::new(),
                    covered: 0,
                    total: None,
                    max_end: 0,
                    pkt_nos: Vec::new(),
                    frags: 0,
                    bytes: 0,
                })
            }
        };
        let mut bytes = 0;
        if f.offset == 0 && train.header.is_none() {
            if let Some(h) = buf.get(f.ip_start..f.unfrag_end) {
                train.header = Some(h.to_vec());
                train.nh_pos = f.nh_pos.saturating_sub(f.ip_start);
                train.next_header = f.next_header;
                bytes += h.len();
            }
        }
        if !f.more {
            train.total = Some(end);
        }
        train.max_end = train.max_end.max(end);
        let (differs, added) = train.insert(start, data);
        bytes += added;
        train.bytes += bytes;
        train.frags += 1;
        train.pkt_nos.extend_from_slice(contributors);
        self.stats.bytes_held += bytes;
        if differs {
            self.stats.overlaps += 1;
            out.push(DecodeAnomaly::FragOverlap);
        }

        if !train.is_complete() {
            return PushOutcome::Held;
        }
        let Some(datagram) = train.assemble() else {
            // Complete but unbuildable: the rebuilt length does not fit 16
            // bits (a first fragment with a longer header than the others
            // were checked against). That is an oversized datagram too.
            self.stats.too_large += 1;
            out.push(DecodeAnomaly::FragTooLarge);
            self.drop_train(&key, DecodeAnomaly::FragTooLarge);
            return PushOutcome::Dropped;
        };
        let mut fragments = std::mem::take(&mut train.pkt_nos);
        self.remove(&key);
        self.stats.completed += 1;
        fragments.sort_unstable();
        fragments.dedup();
        PushOutcome::Complete {
            datagram,
            fragments,
        }
    }

    fn invalid(&mut self, out: &mut Vec<DecodeAnomaly>) -> PushOutcome {
        self.stats.invalid += 1;
        out.push(DecodeAnomaly::FragInvalid);
        PushOutcome::Dropped
    }

    /// This fragment's own train cannot fit: drop it and the fragment.
    fn over_cap(&mut self, key: &FragKey, out: &mut Vec<DecodeAnomaly>) -> PushOutcome {
        self.stats.evicted_by_cap += 1;
        out.push(DecodeAnomaly::FragCapReached);
        self.drop_train(key, DecodeAnomaly::FragCapReached);
        PushOutcome::Dropped
    }
}

#[cfg(test)]
#[path = "defrag_tests.rs"]
mod tests;
