//! TCP connection tracking and the hand-off of segments to reassembly, for
//! the flow table.

use super::{EventSink, Flow, TcpState, TcpStreams};
use crate::decode::meta::TcpMeta;
use crate::flow::table::StreamEvent;
use crate::flow::tcp_reasm::{ReasmConfig, StreamReassembler};
use crate::flow::Direction;

/// TCP state machine of a passive observer.
pub(super) fn track_tcp(flow: &mut Flow, dir: Direction, t: &TcpMeta) {
    let d = dir.idx();
    flow.tcp_flags[d] |= t.flags;
    if flow.isn[d].is_none() {
        let syn = t.has(TcpMeta::SYN);
        flow.isn[d] = Some(if syn { t.seq } else { t.seq.wrapping_sub(1) });
    }
    if t.has(TcpMeta::RST) {
        flow.tcp_state = TcpState::Closed;
        return;
    }
    if t.has(TcpMeta::SYN) {
        if t.has(TcpMeta::ACK) {
            let other = 1 - d;
            if flow.isn[other].is_none() {
                flow.isn[other] = Some(t.ack.wrapping_sub(1));
            }
            if matches!(flow.tcp_state, TcpState::None | TcpState::SynSent) {
                flow.tcp_state = TcpState::SynRecv;
            }
        } else if flow.tcp_state == TcpState::None {
            flow.tcp_state = TcpState::SynSent;
        }
        return;
    }
    if t.has(TcpMeta::FIN) {
        let other = 1 - d;
        flow.tcp_state = if flow.tcp_flags[other] & TcpMeta::FIN != 0 {
            TcpState::Closed
        } else {
            TcpState::Closing
        };
        return;
    }
    if t.has(TcpMeta::ACK) && matches!(flow.tcp_state, TcpState::SynRecv) {
        flow.tcp_state = TcpState::Established;
    } else if flow.tcp_state == TcpState::None && flow.pkts[0] > 0 && flow.pkts[1] > 0 {
        // Midstream pickup: traffic both ways means the connection is up.
        flow.tcp_state = TcpState::Established;
    }
}

/// Feeds a segment to its direction's reassembler. Returns true when the
/// segment overlapped earlier data with different bytes.
pub(super) fn feed_stream(
    flow: &mut Flow,
    dir: Direction,
    t: &TcpMeta,
    payload: &[u8],
    cfg: &ReasmConfig,
    out: &mut dyn FnMut(u64, Direction, StreamEvent<'_>),
) -> bool {
    let id = flow.id;
    if flow.streams.is_none() {
        // Reassembly state is created with the first payload byte, so
        // handshake-only flows (scans, SYN floods) cost no buffers.
        if payload.is_empty() || flow.tcp_state == TcpState::Closed || flow.stream_done {
            return false;
        }
        let mut dirs = [StreamReassembler::new(cfg), StreamReassembler::new(cfg)];
        for (r, isn) in dirs.iter_mut().zip(flow.isn) {
            if let Some(isn) = isn {
                r.set_isn(isn);
            }
        }
        flow.streams = Some(Box::new(TcpStreams { dirs }));
    }
    let Some(streams) = flow.streams.as_mut() else {
        return false;
    };
    let d = dir.idx();
    let server_port = flow.server.port;
    let ident = &mut flow.ident;
    let mut sink = EventSink {
        flow: id,
        dir,
        server_port,
        ident,
        out,
    };
    let mut conflict = false;
    if !payload.is_empty() {
        let seq = if t.has(TcpMeta::SYN) {
            t.seq.wrapping_add(1)
        } else {
            t.seq
        };
        let outcome = streams.dirs[d].segment(seq, payload, &mut sink);
        conflict = outcome.overlap_conflict;
    }
    if t.has(TcpMeta::FIN) {
        let seq = t.seq.wrapping_add(u32::from(t.has(TcpMeta::SYN)));
        streams.dirs[d].fin(seq.wrapping_add(payload.len() as u32));
    }
    if t.has(TcpMeta::ACK) {
        let mut rsink = EventSink {
            flow: id,
            dir: if d == 0 {
                Direction::ToClient
            } else {
                Direction::ToServer
            },
            server_port,
            ident: sink.ident,
            out: sink.out,
        };
        streams.dirs[1 - d].on_ack(t.ack, &mut rsink);
    }
    conflict
}
