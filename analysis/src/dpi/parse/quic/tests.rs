//! Tests: RFC 9001 / RFC 9369 test vectors, the draft-29 handshake of
//! `ndpi__quic-29.pcap` (read from `../shared/pcaps` at test time), Initials
//! built here from hand-written ClientHellos, truncations and garbage.
//!
//! Ground truth for the capture (`tshark -r ndpi__quic-29.pcap -Y quic -T
//! fields -e quic.version -e quic.dcid -e quic.scid -e
//! tls.handshake.extensions_server_name -e tls.handshake.ja3_full -e
//! tls.handshake.ja3 -e tls.handshake.ciphersuite`, and nDPI's
//! `ndpi__quic-29.pcap.ndpi.out` for JA4): the client's first Initial
//! (frame 1, DCID f36e…, SCID 43944e…) carries a ClientHello for
//! `localhost` offering `h3-29`; the server answers with a Retry (SCID
//! 2e9a…), the client starts over, and the server's Initial (frame 4,
//! SCID b8e844…) selects TLS_AES_256_GCM_SHA384 (0x1303).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::crypto::{decode_packet_number, InitialKeys, Keys, TAG_LEN};
use super::*;
use crate::dpi::parse::testutil::{hex as h, shared_convo, shared_convos, Convo};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};

use Direction::{ToClient, ToServer};

/// Feeds datagrams to a new UDP parser and finishes it.
fn run<B: AsRef<[u8]>>(datagrams: &[(Direction, B)]) -> (Vec<QuicHandshake>, QuicParser) {
    let mut p = QuicParser::new(false);
    let mut out = Vec::new();
    for (dir, d) in datagrams {
        p.data(*dir, d.as_ref(), &mut out);
    }
    p.finish(&mut out);
    let recs = out
        .into_iter()
        .map(|r| match r {
            AppRecord::Quic(q) => q,
            other => panic!("not QUIC: {other:?}"),
        })
        .collect();
    (recs, p)
}

fn run_convo(c: &Convo) -> (Vec<QuicHandshake>, QuicParser) {
    run(&c.iter().map(|(d, b)| (*d, &b[..])).collect::<Vec<_>>())
}

fn quic29() -> Convo {
    shared_convo("ndpi__quic-29.pcap", 17, 443)
}

// ---------------------------------------------------------------- vectors

#[test]
fn rfc9001_a1_initial_keys() {
    // RFC 9001 Appendix A.1, DCID 0x8394c8f03e515708.
    let k = InitialKeys::derive(1, &h("8394c8f03e515708")).unwrap();
    assert_eq!(k.client.key.to_vec(), h("1f369613dd76d5467730efcbe3b1a22d"));
    assert_eq!(k.client.iv.to_vec(), h("fa044b2f42a3fd3b46fb255c"));
    assert_eq!(k.client.hp.to_vec(), h("9f50449e04a0e810283a1e9933adedd2"));
    assert_eq!(k.server.key.to_vec(), h("cf3a5331653c364c88f0f379b6067e37"));
    assert_eq!(k.server.iv.to_vec(), h("0ac1493ca1905853b0bba03e"));
    assert_eq!(k.server.hp.to_vec(), h("c206b8d9b9f0f37644430b490eeaa314"));
}

#[test]
fn rfc9369_a1_v2_initial_keys() {
    // RFC 9369 Appendix A.1, same DCID.
    let k = InitialKeys::derive(crypto::V2, &h("8394c8f03e515708")).unwrap();
    assert_eq!(k.client.key.to_vec(), h("8b1a0bc121284290a29e0971b5cd045d"));
    assert_eq!(k.client.iv.to_vec(), h("91f73e2351d8fa91660e909f"));
    assert_eq!(k.client.hp.to_vec(), h("45b95e15235d6f45a6b19cbcb0294ba9"));
    assert_eq!(k.server.key.to_vec(), h("82db637861d55e1d011f19ea71d5d2a7"));
    assert_eq!(k.server.iv.to_vec(), h("dd13c276499c0249d3310652"));
    assert_eq!(k.server.hp.to_vec(), h("edf6d05c83121201b436e16877593c3a"));
}

#[test]
fn rfc9001_a2_header_protection_mask() {
    let k = InitialKeys::derive(1, &h("8394c8f03e515708")).unwrap();
    let sample: [u8; 16] = h("d1b1c98dd7689fb8ec11d242b123dc9b").try_into().unwrap();
    assert_eq!(k.client.mask(&sample).to_vec(), h("437b9aec36"));
}

#[test]
fn unknown_versions_have_no_keys() {
    for v in [0, 0x5130_3530, 0xff00_0016, 0x1a2a_3a4a, 0xface_b001] {
        assert!(InitialKeys::derive(v, &[1, 2, 3, 4]).is_none(), "{v:x}");
    }
}

#[test]
fn rfc9000_a3_packet_number_decoding() {
    assert_eq!(
        decode_packet_number(Some(0xa82f_30ea), 0x9b32, 16),
        0xa82f_9b32
    );
    assert_eq!(decode_packet_number(None, 0, 8), 0);
    assert_eq!(decode_packet_number(Some(0xff), 0x01, 8), 0x101);
}

#[test]
fn versions_are_named_like_suricata() {
    let names: Vec<String> = [1, 0x6b33_43cf, 0xff00_001d, 0x5130_3530, 0x0a0a_0a0a]
        .into_iter()
        .map(|v| QuicVersion::from(v).eve_name())
        .collect();
    assert_eq!(names, ["1", "6b3343cf", "ff00001d", "Q050", "a0a0a0a"]);
    assert_eq!(QuicVersion::from(0xff00_001d), QuicVersion::Draft(29));
    assert_eq!(QuicVersion::from(7), QuicVersion::Unknown(7));
    assert_eq!(u32::from(QuicVersion::Unknown(7)), 7);
}

// ---------------------------------------------------------- real capture

#[test]
fn draft29_capture_client_and_server_records() {
    let c = quic29();
    let (recs, p) = run_convo(&c);
    assert_eq!(recs.len(), 2, "{recs:#?}");
    let client = &recs[0];
    assert_eq!(client.side, "client");
    assert_eq!(client.version, "ff00001d");
    assert_eq!(client.dcid, "f36e07bf0b7088ef28c71d488acaaff39ffc");
    assert_eq!(client.scid, "43944eda18beb7e548b38d375bf3c2a3bc");
    assert_eq!(client.sni.as_deref(), Some("localhost"));
    assert_eq!(client.alpn, ["h3-29"]);
    let ja3 = client.ja3.as_ref().unwrap();
    assert_eq!(ja3.hash, "b3e43d74f4b790abca2f5fe7dd06e7cf");
    assert_eq!(
        ja3.string,
        "771,4865-4866-4867-4868-255,0-11-10-35-16-22-23-13-43-45-51-65445,23-29-24-25,0-1-2"
    );
    // nDPI prints q13d0512h3_d55e91d5c3b2_cd318bf3b157; the FoxIO spec
    // takes the first and last characters of the first ALPN ("h3-29" →
    // "h9"), nDPI its first two.
    let ja4 = client.ja4.as_deref().unwrap();
    assert!(ja4.starts_with("q13d0512h9_d55e91d5c3b2_"), "{ja4}");
    assert_eq!(client.extensions.len(), 12);
    assert_eq!(client.extensions[0].name, Some("server_name"));
    assert_eq!(client.extensions[11].kind, 0xffa5); // draft transport parameters
    assert!(client.ja3s.is_none() && client.cipher_suite.is_none() && !client.retry);

    let server = &recs[1];
    assert_eq!(server.side, "server");
    assert_eq!(server.version, "ff00001d");
    assert_eq!(server.dcid, "43944eda18beb7e548b38d375bf3c2a3bc");
    assert_eq!(server.scid, "b8e844a59dba1b56a9c136266fcc82bda97f");
    assert_eq!(server.cipher_suite.as_deref(), Some("0x1303"));
    assert_eq!(server.tls_version.as_deref(), Some("TLS 1.3"));
    assert!(server.retry);
    assert!(server.ja3s.is_some() && server.sni.is_none() && server.ja4.is_none());
    assert_eq!(p.decrypt_failures(), 0);
    assert_eq!(p.malformed(), 0);

    let json = serde_json::to_value(AppRecord::Quic(client.clone())).unwrap();
    assert_eq!(json["version"], "ff00001d");
    assert_eq!(json["ja3"]["hash"], "b3e43d74f4b790abca2f5fe7dd06e7cf");
    assert_eq!(json["extensions"][0]["type"], 0);
    assert!(json.get("retry").is_none());
    assert_eq!(AppRecord::Quic(client.clone()).event_type(), "quic");
}

#[test]
fn draft29_ja4_cipher_and_extension_hashes_match_ndpi() {
    // The ClientHello nDPI fingerprinted: same cipher and extension hashes.
    let (recs, _) = run_convo(&quic29());
    assert!(recs[0].ja4.as_deref().unwrap().ends_with("_cd318bf3b157"));
}

#[test]
fn draft29_retried_client_hello_is_reassembled_across_datagrams() {
    // Without the first Initial, the client's hello is the one resent
    // after the Retry: CRYPTO offset 0 in frame 3, offset 301 in frame 5
    // (whose DCID is already the server's, keys from the Retry's SCID).
    let c = quic29();
    let rest: Vec<(Direction, &[u8])> = c.iter().skip(1).map(|(d, b)| (*d, &b[..])).collect();
    let (recs, p) = run(&rest);
    let client = recs.iter().find(|r| r.side == "client").unwrap();
    assert_eq!(client.sni.as_deref(), Some("localhost"));
    assert_eq!(client.dcid, "2e9a32ed45c9066ad4f9ac32c1d23c19e480");
    assert!(recs
        .iter()
        .any(|r| r.side == "server" && r.cipher_suite.is_some()));
    assert_eq!(p.decrypt_failures(), 0);
}

#[test]
fn draft29_every_truncated_datagram_is_harmless() {
    let c = quic29();
    let (expected, _) = run_convo(&c);
    for (i, (dir, d)) in c.iter().enumerate() {
        for cut in 0..d.len() {
            // Alone, every prefix is harmless.
            let (recs, _) = run(&[(*dir, &d[..cut])]);
            assert!(recs.len() <= 1, "datagram {i} cut at {cut} alone");
            // Within the flow (every header offset, then a stride through
            // the ciphertext, where every cut overruns the Length field).
            if cut > 96 && cut % 16 != 0 {
                continue;
            }
            let mut feed: Vec<(Direction, &[u8])> = c.iter().map(|(d, b)| (*d, &b[..])).collect();
            feed[i].1 = &d[..cut];
            let (recs, _) = run(&feed);
            assert!(recs.len() <= 2, "datagram {i} cut at {cut}");
            if i >= 6 {
                // Only the first datagrams carry Initials.
                assert_eq!(recs, expected, "datagram {i} cut at {cut}");
            }
        }
    }
}

#[test]
fn tcp_parser_ignores_everything() {
    let c = quic29();
    let mut p = new_parser(true);
    let mut out = Vec::new();
    for (d, b) in &c {
        p.data(*d, b, &mut out);
    }
    p.finish(&mut out);
    assert!(out.is_empty());
}

#[test]
fn gquic_q025_chlo_gives_sni_and_user_agent() {
    // `ndpi__http_ipv6.pcap`, UDP 45931 → 443: tshark `gquic.version`
    // Q025, `gquic.tag.sni` www.google.it, `gquic.tag.uaid`
    // "Chrome/46.0.2490.80 Linux x86_64", `gquic.cid`
    // 15478007637968338505 (0xd6ccedf0d3e2be49, little-endian on the wire).
    let c = shared_convos("ndpi__http_ipv6.pcap", 17)
        .into_iter()
        .find(|(port, c)| *port == 443 && c.len() > 10)
        .map(|(_, c)| c)
        .unwrap();
    let (recs, _) = run_convo(&c);
    assert_eq!(recs.len(), 1, "{recs:#?}");
    let r = &recs[0];
    assert_eq!(r.side, "client");
    assert_eq!(r.version, "Q025");
    assert_eq!(r.dcid, "49bee2d3f0edccd6");
    assert_eq!(r.sni.as_deref(), Some("www.google.it"));
    assert_eq!(r.ua.as_deref(), Some("Chrome/46.0.2490.80 Linux x86_64"));
    assert!(r.ja3.is_none() && r.scid.is_empty());
    // Every truncation of the CHLO datagram: no panic, at most a record.
    for cut in 0..c[0].1.len() {
        let (recs, _) = run(&[(c[0].0, &c[0].1[..cut])]);
        assert!(recs.len() <= 1, "cut at {cut}");
    }
}

#[test]
fn gquic_hand_made_chlo_big_endian_and_hostile() {
    // Q043: 1-octet packet number, 12-octet hash, no private flags;
    // STREAM frame (stream 1, 2-octet big-endian length).
    let mut chlo = b"CHLO".to_vec();
    chlo.extend([2, 0, 0, 0]);
    chlo.extend(b"SNI\0");
    chlo.extend(5u32.to_le_bytes());
    chlo.extend(b"XXXX"); // unknown tag
    chlo.extend(9u32.to_le_bytes());
    chlo.extend(b"a.bcdWXYZ");
    let mut d = h("0901020304050607085130343301");
    d.extend([0; 12]);
    d.push(0xa0);
    d.push(1);
    d.extend((chlo.len() as u16).to_be_bytes());
    d.extend(&chlo);
    let (recs, _) = run(&[(ToServer, &d)]);
    assert_eq!(recs[0].version, "Q043");
    assert_eq!(recs[0].sni.as_deref(), Some("a.bcd"));
    // Offsets past the message, counts beyond the entries: no panic.
    let mut bad = d.clone();
    let at = bad.len() - chlo.len();
    bad[at + 4] = 0xff;
    bad[at + 12] = 0xff;
    let _ = run(&[(ToServer, &bad)]);
    for cut in 0..d.len() {
        let _ = run(&[(ToServer, &d[..cut])]);
    }
}

// ------------------------------------------------------ built Initials

/// A ClientHello handshake message: TLS 1.3 only, SNI, ALPN `h3`, QUIC
/// transport parameters (RFC 9001 §8.2).
fn client_hello(sni: &str) -> Vec<u8> {
    let mut exts = Vec::new();
    let mut ext = |ty: u16, data: &[u8]| {
        exts.extend(ty.to_be_bytes());
        exts.extend((data.len() as u16).to_be_bytes());
        exts.extend(data);
    };
    let mut sn = vec![0];
    sn.extend((sni.len() as u16).to_be_bytes());
    sn.extend(sni.as_bytes());
    let mut list = ((sn.len()) as u16).to_be_bytes().to_vec();
    list.extend(sn);
    ext(0, &list);
    ext(16, &h("0003026833"));
    ext(43, &h("020304"));
    ext(10, &h("0002001d"));
    ext(13, &h("00020403"));
    ext(57, &h("0104800075300304804004"));
    let mut body = h("0303");
    body.extend([7; 32]);
    body.push(0); // session id
    body.extend(h("000413011302"));
    body.extend(h("0100"));
    body.extend((exts.len() as u16).to_be_bytes());
    body.extend(exts);
    let mut msg = vec![1, 0];
    msg.extend((body.len() as u16).to_be_bytes());
    msg.extend(body);
    msg
}

/// A CRYPTO frame (RFC 9000 §19.6) with two-octet varints.
fn crypto_frame(offset: usize, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    f.extend((0x4000 | offset as u16).to_be_bytes());
    f.extend((0x4000 | data.len() as u16).to_be_bytes());
    f.extend(data);
    f
}

/// Protects a long-header packet: `type_bits` as on the wire, a two-octet
/// packet number, `frames` as payload (RFC 9001 §5.3, §5.4).
fn protect(
    version: u32,
    type_bits: u8,
    dcid: &[u8],
    scid: &[u8],
    keys: &Keys,
    pn: u16,
    frames: &[u8],
) -> Vec<u8> {
    let mut p = vec![0xc0 | type_bits << 4 | 0x01];
    p.extend(version.to_be_bytes());
    p.push(dcid.len() as u8);
    p.extend(dcid);
    p.push(scid.len() as u8);
    p.extend(scid);
    if type_bits == if version == crypto::V2 { 1 } else { 0 } {
        p.push(0); // token
    }
    p.extend((0x4000 | (2 + frames.len() + TAG_LEN) as u16).to_be_bytes());
    let pn_offset = p.len();
    p.extend(pn.to_be_bytes());
    let mut nonce = keys.iv;
    for (n, b) in nonce.iter_mut().skip(10).zip(pn.to_be_bytes()) {
        *n ^= b;
    }
    let ct = Aes128Gcm::new_from_slice(&keys.key)
        .unwrap()
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: frames,
                aad: &p,
            },
        )
        .unwrap();
    p.extend(ct);
    let sample: [u8; 16] = p[pn_offset + 4..pn_offset + 20].try_into().unwrap();
    let mask = keys.mask(&sample);
    p[0] ^= mask[0] & 0x0f;
    p[pn_offset] ^= mask[1];
    p[pn_offset + 1] ^= mask[2];
    p
}

const DCID: &[u8] = &[0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];
const SCID: &[u8] = &[0xc1, 0xc2, 0xc3, 0xc4];

/// Two client datagrams carrying `client_hello` in three out-of-order
/// CRYPTO frames mixed with PADDING, PING and ACK frames; the second
/// datagram coalesces a second Initial and a Handshake packet.
fn scattered_client(version: u32, sni: &str) -> Vec<Vec<u8>> {
    let k = InitialKeys::derive(version, DCID).unwrap();
    let initial = if version == crypto::V2 { 1 } else { 0 };
    let handshake = if version == crypto::V2 { 3 } else { 2 };
    let ch = client_hello(sni);
    let (a, rest) = ch.split_at(20);
    let (b, c) = rest.split_at(30);
    let mut f1 = crypto_frame(50, c);
    f1.extend([0x01, 0x00, 0x00]);
    f1.extend(crypto_frame(0, a));
    f1.extend(vec![0; 900]);
    let mut d1 = protect(version, initial, DCID, SCID, &k.client, 0, &f1);
    d1.resize(1200, 0); // datagram padding after the packet
    let mut f2 = h("0200000000"); // ACK: largest 0, delay 0, 0 ranges, first 0
    f2.extend(crypto_frame(20, b));
    f2.extend([0x00; 4]);
    let mut d2 = protect(version, initial, DCID, SCID, &k.client, 1, &f2);
    d2.extend(protect(
        version, handshake, DCID, SCID, &k.client, 2, &[0; 40],
    ));
    vec![d1, d2]
}

#[test]
fn v1_and_v2_scattered_client_hello() {
    for (version, name) in [
        (1, "1"),
        (crypto::V2, "6b3343cf"),
        (0xff00_0020, "ff000020"),
    ] {
        let ds = scattered_client(version, "example.org");
        let (recs, p) = run(&[(ToServer, &ds[0]), (ToServer, &ds[1])]);
        assert_eq!(recs.len(), 1, "{name}");
        let r = &recs[0];
        assert_eq!(r.version, name);
        assert_eq!(r.sni.as_deref(), Some("example.org"));
        assert_eq!(r.alpn, ["h3"]);
        assert_eq!(r.dcid, "8394c8f03e515708");
        assert_eq!(r.scid, "c1c2c3c4");
        let ja4 = r.ja4.as_deref().unwrap();
        assert!(ja4.starts_with("q13d0206h3_"), "{ja4}");
        assert_eq!(p.decrypt_failures(), 0, "{name}");
        // Datagrams in the other order give the same record.
        let (swapped, _) = run(&[(ToServer, &ds[1]), (ToServer, &ds[0])]);
        assert_eq!(swapped, recs, "{name}");
    }
}

#[test]
fn version_change_restarts_the_client_hello() {
    // A v1 Initial with only the start of a hello, then (after Version
    // Negotiation) v2 Initials with a whole one for another name.
    let k = InitialKeys::derive(1, DCID).unwrap();
    let ch = client_hello("old.example");
    let mut f = crypto_frame(0, &ch[..40]);
    f.extend(vec![0; 1000]);
    let v1 = protect(1, 0, DCID, SCID, &k.client, 0, &f);
    let vn = h("800000000004c1c2c3c4088394c8f03e515708000000016b3343cf");
    let ds = scattered_client(crypto::V2, "new.example");
    let (recs, p) = run(&[
        (ToServer, &v1),
        (ToClient, &vn),
        (ToServer, &ds[0]),
        (ToServer, &ds[1]),
    ]);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].version, "6b3343cf");
    assert_eq!(recs[0].sni.as_deref(), Some("new.example"));
    assert_eq!((p.decrypt_failures(), p.malformed()), (0, 0));
}

#[test]
fn built_server_hello_is_decoded() {
    // The ServerHello of RFC 9001 Appendix A.3 (cipher 0x1301, TLS 1.3),
    // here in a packet protected with the server keys of DCID 8394….
    let sh = h("020000560303eefce7f7b37ba1d1632e96677825ddf73988cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c940d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00020304");
    let k = InitialKeys::derive(1, DCID).unwrap();
    let mut frames = h("0200000000");
    frames.extend(crypto_frame(0, &sh));
    let server = protect(1, 0, SCID, &[0xf0, 0x67], &k.server, 1, &frames);
    let ds = scattered_client(1, "a.example");
    let (recs, _) = run(&[(ToServer, &ds[0]), (ToClient, &server), (ToServer, &ds[1])]);
    assert_eq!(recs.len(), 2);
    let s = recs.iter().find(|r| r.side == "server").unwrap();
    assert_eq!(s.cipher_suite.as_deref(), Some("0x1301"));
    assert_eq!(s.tls_version.as_deref(), Some("TLS 1.3"));
    assert_eq!(s.dcid, "c1c2c3c4");
    assert_eq!(s.scid, "f067");
    let names: Vec<_> = s.extensions.iter().map(|e| e.name).collect();
    assert_eq!(names, [Some("key_share"), Some("supported_versions")]);
    assert!(s
        .ja3s
        .as_ref()
        .unwrap()
        .string
        .starts_with("771,4865,51-43"));
}

#[test]
fn unknown_version_gives_a_header_only_record() {
    // A greased version (RFC 9000 §15) with RFC 8999 invariants.
    let mut d = h("c01a2a3a4a0401020304020506");
    d.resize(1200, 0x55);
    let (recs, p) = run(&[(ToServer, &d)]);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].version, "1a2a3a4a");
    assert_eq!(recs[0].dcid, "01020304");
    assert_eq!(recs[0].scid, "0506");
    assert!(recs[0].sni.is_none());
    assert_eq!(p.decrypt_failures(), 0);
}

#[test]
fn corrupted_initials_are_counted_not_fatal() {
    let ds = scattered_client(1, "example.org");
    let mut bad = ds[0].clone();
    bad[100] ^= 0x40; // inside the ciphertext: the tag fails
    let (recs, p) = run(&[(ToServer, &bad), (ToServer, &ds[1])]);
    assert_eq!(recs.len(), 1);
    assert!(recs[0].sni.is_none(), "hello incomplete: header only");
    assert_eq!(p.decrypt_failures(), 1);
    // Every single-bit flip of the first datagram: no panic, ≤ 1 record.
    for i in 0..ds[0].len().min(200) {
        for bit in [0x01, 0x80] {
            let mut d = ds[0].clone();
            d[i] ^= bit;
            let (recs, _) = run(&[(ToServer, &d), (ToServer, &ds[1])]);
            assert!(recs.len() <= 1, "byte {i}");
        }
    }
}

#[test]
fn initial_cap_bounds_decryption() {
    let ds = scattered_client(1, "example.org");
    let mut bad = ds[0].clone();
    bad[100] ^= 0x40;
    let mut feed = vec![(ToServer, &bad[..]); 20];
    feed.push((ToServer, &ds[0][..]));
    let (_, p) = run(&feed);
    assert_eq!(p.decrypt_failures(), u32::from(MAX_INITIALS));
}

// --------------------------------------------------------------- hostile

/// A small deterministic generator (xorshift).
fn noise(seed: &mut u64, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed as u8
        })
        .collect()
}

#[test]
fn garbage_datagrams_never_panic() {
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    let mut p = QuicParser::new(false);
    let mut out = Vec::new();
    for i in 0..2000 {
        let mut d = noise(&mut seed, 1 + i % 1400);
        if i % 2 == 0 {
            // Long header of a known version, random rest.
            d[0] |= 0xc0;
            if d.len() > 5 {
                d[1..5].copy_from_slice(&[0, 0, 0, 1]);
            }
        }
        let dir = if i % 3 == 0 { ToClient } else { ToServer };
        p.data(dir, &d, &mut out);
    }
    p.finish(&mut out);
    assert!(out.len() <= 2);
}

#[test]
fn hostile_lengths_and_frames() {
    // Length varint of 2^62-1 and a token length of 2^62-1.
    let huge_len = h("c00000000104010203040000ffffffffffffffff00");
    let huge_token = h("c000000001040102030400ffffffffffffffff0000");
    let (recs, p) = run(&[(ToServer, &huge_len), (ToServer, &huge_token)]);
    assert!(recs.is_empty());
    assert_eq!(p.malformed(), 2);
    // Frames: a CRYPTO frame far beyond the cap, one with a bogus length,
    // an ACK with 2^62 ranges, a forbidden STREAM frame.
    let mut s = packet::CryptoStream::default();
    assert!(!s.insert(1 << 40, b"x"));
    assert!(!s.insert(packet::MAX_CRYPTO as u64 - 1, b"xy"));
    for _ in 0..packet::MAX_FRAGMENTS {
        s.insert(1000, b"z");
    }
    assert!(!s.insert(2000, b"w"), "fragment count capped");
    for frames in ["06004005aa", "020000bfffffffffffffff00", "0800", "1c00"] {
        let mut n = 0;
        assert!(
            !packet::walk_frames(&h(frames), &mut |_, _| n += 1),
            "{frames}"
        );
    }
    assert!(packet::walk_frames(
        &h("0001030000000000000000"),
        &mut |_, _| {}
    ));
    // A handshake message announcing more than the cap stops the side.
    let k = InitialKeys::derive(1, DCID).unwrap();
    let frames = crypto_frame(0, &h("01ffffff0303"));
    let d = protect(
        1,
        0,
        DCID,
        SCID,
        &k.client,
        0,
        &[frames, vec![0; 1100]].concat(),
    );
    let (recs, p) = run(&[(ToServer, &d)]);
    assert_eq!(recs.len(), 1);
    assert!(recs[0].sni.is_none());
    assert_eq!(p.malformed(), 1);
}

#[test]
fn identifier_runs_the_parser_on_a_real_flow() {
    let mut id = crate::dpi::Identifier::default();
    for (d, b) in &quic29() {
        id.udp_datagram(*d, 443, b);
    }
    id.finish();
    assert_eq!(id.app(), Some(crate::dpi::AppProto::Quic));
    let recs = id.take_records();
    assert_eq!(recs.len(), 2);
    assert!(recs.iter().all(|r| r.event_type() == "quic"));
}
