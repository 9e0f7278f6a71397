//! Kerberos 5 over UDP (RFC 4120 §7.2.1).
//!
//! Contract: `Match` when the datagram is exactly one KDC message: an
//! application tag AS-REQ (`0x6a`), AS-REP (`0x6b`), TGS-REQ (`0x6c`),
//! TGS-REP (`0x6d`) or KRB-ERROR (`0x7e`) whose DER length covers the
//! datagram exactly, wrapping one SEQUENCE that also covers it exactly and
//! starts with `pvno` 5 and the `msg-type` the application tag implies.
//!
//! Reasons: RFC 4120 §5.4.1 (KDC-REQ: `pvno [1]`, `msg-type [2]`), §5.4.2
//! (KDC-REP: `pvno [0]`, `msg-type [1]`) and §5.9.1 (KRB-ERROR: `pvno [0]`,
//! `msg-type [1]`) fix these first fields, so together with the two exact
//! lengths a random datagram essentially never passes. Over UDP there is no
//! record marker (the 4-byte length prefix is TCP only, §7.2.2).

use super::ber::{small_int, tlv};
use crate::dpi::{AppProto, Descriptor, Probe};
use crate::flow::Direction;

/// The Kerberos descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Krb5,
    ports: &[88],
    probe,
};

/// Protocol version number (RFC 4120 §5.4.1).
const PVNO: u8 = 5;

/// For an application tag: the context tag of `pvno` and the `msg-type`
/// value it requires (RFC 4120 §5.10).
fn expected(app_tag: u8) -> Option<(u8, u8)> {
    match app_tag {
        0x6a => Some((0xa1, 10)), // AS-REQ
        0x6c => Some((0xa1, 12)), // TGS-REQ
        0x6b => Some((0xa0, 11)), // AS-REP
        0x6d => Some((0xa0, 13)), // TGS-REP
        0x7e => Some((0xa0, 30)), // KRB-ERROR
        _ => None,
    }
}

fn probe(_dir: Direction, data: &[u8]) -> Probe {
    Probe::decided(matches(data))
}

fn matches(data: &[u8]) -> bool {
    let Some(outer) = tlv(data, 0) else {
        return false;
    };
    let Some((pvno_tag, msg_type)) = expected(outer.tag) else {
        return false;
    };
    if outer.end != data.len() {
        return false;
    }
    let Some(seq) = tlv(data, outer.start) else {
        return false;
    };
    if seq.tag != 0x30 || seq.end != data.len() {
        return false;
    }
    // pvno [n] INTEGER, then msg-type [n+1] INTEGER.
    let Some(pvno) = tlv(data, seq.start) else {
        return false;
    };
    if pvno.tag != pvno_tag || small_int(data, pvno.start) != Some((PVNO, pvno.end)) {
        return false;
    }
    let Some(mt) = tlv(data, pvno.end) else {
        return false;
    };
    mt.tag == pvno_tag + 1 && small_int(data, mt.start) == Some((msg_type, mt.end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dpi::udp::test_util::{assert_prefixes_rejected, hex};

    /// AS-REQ without pre-authentication, cname `alice`, realm
    /// `EXAMPLE.TEST`, as MIT kinit sends it (UDP, so no length prefix).
    const AS_REQ: &str =
        "6a81b63081b3a103020105a20302010aa31a3018300aa10402020096a2020400300aa1040202\
        0095a2020400a4818a308187a00703050000000010a1123010a003020101a10930071b05616c696365a20e1b0c\
        4558414d504c452e54455354a321301fa003020102a11830161b066b72627467741b0c4558414d504c452e5445\
        5354a511180f32303236313031303233353131305aa70602044646428ba81a3018020112020111020114020113\
        02011002011702011902011a";

    /// The MIT KDC's KRB-ERROR answer to it: KDC_ERR_PREAUTH_REQUIRED (25).
    const KRB_ERROR: &str =
        "7e81ea3081e7a003020105a10302011ea411180f32303236313030393233353132345aa5050203\
        0be900a603020119a70e1b0c4558414d504c452e54455354a8123010a003020101a10930071b05616c696365a9\
        0e1b0c4558414d504c452e54455354aa21301fa003020102a11830161b066b72627467741b0c4558414d504c45\
        2e54455354ab101b0e4e45454445445f50524541555448ac530451304f300aa10402020088a20204003027a103\
        020113a220041e301c301aa003020112a1131b114558414d504c452e54455354616c6963653009a103020102a2\
        020400300da10402020085a20504034d4954";

    /// The first fields of a TGS-REP (`0x6d`), long-form lengths, with the
    /// rest of the body replaced by an opaque OCTET STRING.
    fn tgs_rep() -> Vec<u8> {
        let mut body = hex("a003020105a10302010d");
        body.extend_from_slice(&[0x04, 0x81, 0x90]);
        body.extend(std::iter::repeat_n(0x5a, 0x90));
        let mut seq = vec![0x30, 0x81, body.len() as u8];
        seq.extend(body);
        let mut out = vec![0x6d, 0x81, seq.len() as u8];
        out.extend(seq);
        out
    }

    #[test]
    fn matches_kdc_exchange() {
        assert_eq!(probe(Direction::ToServer, &hex(AS_REQ)), Probe::Match);
        assert_eq!(probe(Direction::ToClient, &hex(KRB_ERROR)), Probe::Match);
        assert_eq!(probe(Direction::ToClient, &tgs_rep()), Probe::Match);
    }

    #[test]
    fn truncations_are_rejected() {
        assert_prefixes_rejected(probe, &hex(AS_REQ));
        assert_prefixes_rejected(probe, &hex(KRB_ERROR));
        assert_prefixes_rejected(probe, &tgs_rep());
    }

    #[test]
    fn near_misses_are_rejected() {
        let req = hex(AS_REQ);
        // Trailing byte after the message.
        let mut d = req.clone();
        d.push(0);
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // pvno 4.
        let mut d = req.clone();
        d[10] = 4;
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // msg-type TGS-REQ under the AS-REQ tag.
        let mut d = req.clone();
        d[15] = 12;
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // AP-REQ application tag (not a KDC message).
        let mut d = req.clone();
        d[0] = 0x6e;
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // KDC-REP field numbering under a request tag.
        let mut d = hex(KRB_ERROR);
        d[0] = 0x6a;
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // TCP framing (4-byte record marker) is not UDP Kerberos.
        let mut d = vec![0, 0, 0, req.len() as u8];
        d.extend_from_slice(&req);
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
    }
}
