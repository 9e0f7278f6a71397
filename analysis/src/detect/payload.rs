//! Detections over payload bytes and DNS names: cleartext card numbers
//! and SSNs in any protocol's payload (the first `scan_bytes` of each
//! flow direction, TCP as reassembled, UDP datagram by datagram), and DNS
//! tunnels (many long, random-looking names under one domain).

use super::alert::{Category, Side};
use super::content::{dlp, dns};
use super::engine::{side, Detector};
use crate::flow::Direction;

/// Bytes kept from the end of one delivery so a number split across two
/// deliveries is still seen whole.
const TAIL: usize = 24;
/// New bytes scanned together with the tail (at least MAX_RUN past the
/// two bytes of start context).
const SEAM: usize = 48;
/// Matches reported per scanned piece.
const MAX_MATCHES: usize = 8;

/// Per flow direction: bytes scanned so far and the tail of the last
/// piece.
#[derive(Debug, Default)]
pub(super) struct DlpState {
    scanned: u32,
    tail_len: u8,
    tail: [u8; TAIL],
}

/// Per registered domain: suspicious names (hashes, capped), and query
/// counts by kind.
#[derive(Debug, Default)]
pub(super) struct TunnelState {
    names: Vec<u64>,
    /// Distinct names asked with TXT/NULL (hashes, capped).
    typed: Vec<u64>,
    txt_null: u64,
    queries: u64,
}

impl Detector {
    /// Reassembled TCP stream bytes of a flow direction, in order (the
    /// first `scan_bytes`, numbers across pieces included). Matches wait
    /// for [`Detector::payload_endpoints`] to name the flow's endpoints.
    pub fn payload(&mut self, flow_id: u64, dir: Direction, ts_ns: i64, bytes: &[u8]) {
        let Some(budget) = self.dlp_budget else {
            return;
        };
        let budget = u32::try_from(budget).unwrap_or(u32::MAX);
        let st = self.dlp.entry((flow_id, dir.idx() as u8)).or_default();
        if st.scanned >= budget || bytes.is_empty() {
            return;
        }
        let take = (budget - st.scanned).min(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        st.scanned += take;
        let b = &bytes[..take as usize];
        let t_len = usize::from(st.tail_len);
        // The seam: the kept tail and the start of the new bytes, for
        // numbers across the boundary (a number is at most MAX_RUN bytes;
        // the scanner looks two bytes back from a start).
        let mut seam = [0u8; TAIL + SEAM];
        seam[..t_len].copy_from_slice(&st.tail[..t_len]);
        let head = b.len().min(SEAM);
        seam[t_len..t_len + head].copy_from_slice(&b[..head]);
        let seam = &seam[..t_len + head];
        let whole = head == b.len();
        // The new tail: the last TAIL bytes of tail + new bytes.
        let mut joined = [0u8; 2 * TAIL];
        joined[..t_len].copy_from_slice(&st.tail[..t_len]);
        let last = &b[b.len().saturating_sub(TAIL)..];
        joined[t_len..t_len + last.len()].copy_from_slice(last);
        let n = t_len + last.len();
        let keep = n.min(TAIL);
        st.tail[..keep].copy_from_slice(&joined[n - keep..n]);
        st.tail_len = keep as u8;
        let crossing: Vec<dlp::DlpMatch> = dlp::scan(seam, seam.len(), MAX_MATCHES)
            .into_iter()
            .filter(|m| m.offset < t_len + 2 && (whole || m.offset + m.len < seam.len()))
            .collect();
        // A match ending where the bytes end may go on in the next piece:
        // judged then (it is in the new tail) or at the end of the flow.
        let seam_end = if whole { seam.len() } else { seam.len() + 1 };
        self.report_dlp(flow_id, dir, ts_ns, crossing, t_len..seam_end);
        // The new bytes on their own, for numbers that start two bytes in
        // or later (their start context is then inside them).
        let inner: Vec<dlp::DlpMatch> = dlp::scan(b, b.len(), MAX_MATCHES)
            .into_iter()
            .filter(|m| m.offset >= 2)
            .collect();
        self.report_dlp(flow_id, dir, ts_ns, inner, 0..b.len());
    }

    /// One UDP datagram: scanned on its own (its first `scan_bytes`), no
    /// state kept between datagrams, so the many short UDP flows of a node
    /// (DNS) cost no per-flow memory.
    pub fn datagram(&mut self, flow_id: u64, dir: Direction, ts_ns: i64, bytes: &[u8]) {
        let Some(budget) = self.dlp_budget else {
            return;
        };
        let b = &bytes[..bytes
            .len()
            .min(usize::try_from(budget).unwrap_or(usize::MAX))];
        let found = dlp::scan(b, b.len(), MAX_MATCHES);
        // A datagram is whole: a number may end at its last byte.
        self.report_dlp(flow_id, dir, ts_ns, found, 0..b.len() + 1);
    }

    /// Queues the matches of one scan whose end lies in `ends`.
    fn report_dlp(
        &mut self,
        flow_id: u64,
        dir: Direction,
        ts_ns: i64,
        found: Vec<dlp::DlpMatch>,
        ends: std::ops::Range<usize>,
    ) {
        for m in found
            .into_iter()
            .filter(|m| ends.contains(&(m.offset + m.len)))
        {
            let (category, what) = match m.kind {
                dlp::DlpKind::Card(brand) => (Category::DlpCreditCard, format!("{brand:?}")),
                dlp::DlpKind::Ssn => (Category::DlpSsn, "ssn".to_string()),
            };
            if self.rules().get(category).is_some() {
                let meta = vec![("kind", what.to_lowercase()), ("masked", m.masked)];
                self.dlp_found.push((flow_id, dir, category, ts_ns, meta));
            }
        }
    }

    /// The endpoints of flow `flow_id` (client, server): raises the alerts
    /// its payload matched. Matches of other flows (ended meanwhile) are
    /// raised without endpoints.
    pub fn payload_endpoints(&mut self, flow_id: u64, client: Side, server: Side) {
        for (id, dir, category, ts_ns, meta) in std::mem::take(&mut self.dlp_found) {
            let (src, dst) = match (id == flow_id, dir) {
                (true, Direction::ToServer) => (Some(client), Some(server)),
                (true, Direction::ToClient) => (Some(server), Some(client)),
                (false, _) => (None, None),
            };
            let key = (category, src.map(|s| s.ip), dst.map(|s| s.ip), id);
            self.open_alert(key, ts_ns, Some(id), src, dst, &meta, &[]);
        }
    }

    /// End of a flow: numbers at the very end of its payload are judged,
    /// and its payload state is forgotten.
    pub(super) fn payload_done(&mut self, f: &super::engine::FlowEnd) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            let Some(st) = self.dlp.remove(&(f.id, dir.idx() as u8)) else {
                continue;
            };
            let tail = &st.tail[..usize::from(st.tail_len)];
            let found = dlp::scan(tail, tail.len(), MAX_MATCHES);
            let end = tail.len();
            self.report_dlp(f.id, dir, f.last_ts_ns, found, end..end + 1);
        }
        if !self.dlp_found.is_empty() {
            let client = side(f.client.0, Some(f.client.1));
            let server = side(f.server.0, Some(f.server.1));
            self.payload_endpoints(f.id, client, server);
        }
    }

    /// A DNS query for `name` of type `qtype`, from `client` to `server`.
    pub(super) fn dns_query(
        &mut self,
        name: &str,
        qtype: Option<&str>,
        client: Side,
        server: Side,
        ts_ns: i64,
        flow_id: u64,
    ) {
        let Some(rule) = self.rules().get(Category::DnsTunnel) else {
            return;
        };
        let (threshold, min_len, min_entropy, ratio) = (
            rule.threshold.unwrap_or(u64::MAX),
            rule.min_len.unwrap_or(u64::MAX) as usize,
            rule.min_entropy.unwrap_or(f64::MAX),
            rule.ratio.unwrap_or(1.0),
        );
        let reg = dns::registered_domain(name.as_bytes());
        let domain_key = reg.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
            (h ^ u64::from(x.to_ascii_lowercase())).wrapping_mul(0x100_0000_01b3)
        });
        // Encoded data needs long labels; service names (Kubernetes'
        // `svc.ns.svc.cluster.local` included) are long only in total.
        // The full features are computed only for names that have one.
        let long = name.split('.').any(|l| l.len() >= min_len);
        let random = long && {
            let f = dns::features(name.as_bytes());
            f.entropy_bits >= min_entropy
                || f.hex_label_frac >= 0.5
                || f.base32_label_frac >= 0.5
                || f.odd_byte_frac >= 0.05
        };
        let txt_null = matches!(qtype, Some("TXT" | "NULL"));
        let s = self.tunnels.hit(domain_key, ts_ns);
        s.v.queries += 1;
        s.v.txt_null += u64::from(txt_null);
        // Tunnels send a new name with every query; a popular name asked
        // again and again is not one.
        let suspicious = long && random;
        let h = crate::hash::fnv1a(name.as_bytes());
        if suspicious && !s.v.names.contains(&h) && (s.v.names.len() as u64) < threshold {
            s.v.names.push(h);
            s.note(ts_ns, None);
        }
        if txt_null && !s.v.typed.contains(&h) && (s.v.typed.len() as u64) < threshold {
            s.v.typed.push(h);
        }
        let by_names = s.v.names.len() as u64 >= threshold;
        // Tunnels that poll with TXT/NULL records: many distinct names,
        // mostly of those types.
        let by_type = s.v.typed.len() as u64 * 2 >= threshold
            && s.v.txt_null as f64 >= ratio * s.v.queries as f64;
        if by_names || by_type {
            let domain = String::from_utf8_lossy(reg).to_lowercase();
            let meta = [
                ("domain", domain.clone()),
                ("suspicious_names", s.v.names.len().to_string()),
                ("queries", s.v.queries.to_string()),
                ("txt_null_queries", s.v.txt_null.to_string()),
            ];
            let key = (Category::DnsTunnel, Some(client.ip), None, domain_key);
            self.open_alert(key, ts_ns, None, Some(client), Some(server), &meta, &[]);
            if let Some(a) = self.open_mut(&key) {
                a.add_evidence(ts_ns, None, Some(flow_id));
                a.proto = Some(17);
            }
        }
    }
}

impl Detector {
    /// A request whose header section never completed (a slow-header
    /// attack keeps it so): counted per server.
    pub(super) fn slow_request(&mut self, e: &crate::flow::table::AppEvent) {
        let Some(rule) = self.rules().get(Category::Slowloris) else {
            return;
        };
        let threshold = rule.threshold.unwrap_or(u64::MAX);
        let s = self.slow_http.hit(e.server.ip, e.ts_ns);
        s.note(e.ts_ns, None);
        if s.events >= threshold {
            let meta = [("incomplete_requests", s.events.to_string())];
            let key = (
                Category::Slowloris,
                None,
                Some(e.server.ip),
                u64::from(e.server.port),
            );
            let dst = Some(side(e.server.ip, Some(e.server.port)));
            self.open_alert(key, e.ts_ns, None, None, dst, &meta, &[]);
            if let Some(a) = self.open_mut(&key) {
                a.add_evidence(e.ts_ns, None, Some(e.flow_id));
                a.proto = Some(6);
            }
        }
    }
}
