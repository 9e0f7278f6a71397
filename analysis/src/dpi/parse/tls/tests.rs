//! Tests of the TLS parser: real handshakes fed whole, byte by byte and
//! split at every offset, and synthetic edge cases.
//!
//! The handshakes are read at test time from the public captures in
//! `../shared/pcaps` (never copied into the repository): the first TCP
//! conversation to port 443 of `arkime__tls13.pcap`,
//! `arkime__tls-alpn-h2.pcap`, `ndpi__443-curl.pcap`,
//! `suricata__ja4-tls.pcap`, `zeek__tls_heartbleed.pcap`,
//! `ndpi__google_ssl.pcap` and `ndpi__dns2tcp_tunnel.pcap` (tshark's
//! `tcp.stream` 0 in each), reassembled by Osprey's own TCP reassembler
//! and cut, in each direction, after the first record that is not a
//! handshake record (at most 16 bytes of its body): see [`handshake`].
//!
//! Expected values come from the captures' references: tshark 4.0
//! (`tls.handshake.ja3`, `ja3s`, `ja3_full`), Arkime's `.arkime.test.json`
//! (`ja4`, `ja3`, `ja3s`), nDPI's `.ndpi.out` (`JA3C`, `JA4`, `JA3S`,
//! issuer/subject), Suricata's `.suricata.test.yaml` (`tls.ja4`), and
//! `openssl x509 -subject -issuer` for the certificate names.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::dpi::records::Fingerprint;

use crate::dpi::parse::testutil::{self, Convo};

/// How many bytes of one direction's stream are kept: its handshake
/// records (content type 22), then the first record of any other type (or
/// anything that is not a TLS record, such as an SSLv2 ClientHello) with
/// at most 16 bytes of its body. This keeps the conversations short (a few
/// KiB) for [`testutil::check_segmentation`], which is quadratic in their
/// length.
fn handshake_len(s: &[u8]) -> usize {
    let mut at = 0;
    while let Some(h) = s.get(at..at + 5) {
        let end = at + 5 + usize::from(u16::from_be_bytes([h[3], h[4]]));
        if h[0] != 22 {
            return s.len().min(end).min(at + 5 + 16);
        }
        at = end;
    }
    s.len()
}

/// The first TCP conversation to port 443 of `../shared/pcaps/<pcap>`,
/// each direction cut by [`handshake_len`].
fn handshake(pcap: &str) -> Convo {
    let c = testutil::shared_convo(pcap, 6, 443);
    let keep =
        [Direction::ToServer, Direction::ToClient].map(|d| handshake_len(&testutil::stream(&c, d)));
    testutil::prefix(&c, keep)
}

/// One handshake, identical however the conversation is segmented.
fn check(pcap: &str) -> TlsHandshake {
    let records = testutil::check_segmentation(new_parser, &handshake(pcap));
    assert_eq!(records.len(), 1, "{records:?}");
    match records.into_iter().next() {
        Some(AppRecord::Tls(h)) => h,
        other => panic!("unexpected {other:?}"),
    }
}

fn fp(hash: &str, string: &str) -> Option<Fingerprint> {
    Some(Fingerprint {
        hash: hash.into(),
        string: string.into(),
    })
}

#[test]
fn arkime_tls13_draft18() {
    let h = check("arkime__tls13.pcap");
    assert_eq!(h.sni.as_deref(), Some("blog.cloudflare.com"));
    assert_eq!(h.version.as_deref(), Some("TLS 1.3 draft-18"));
    assert_eq!(h.cipher_suite.as_deref(), Some("0x1301"));
    assert_eq!(h.client_alpns, ["h2", "http/1.1"]);
    assert_eq!(h.server_alpn, None);
    assert_eq!(
        h.ja3,
        fp(
            "4826a90ec2daf4f7b4b64cc1c8bd343b",
            "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-52244-52243-\
             49171-49172-156-157-47-53-10,65281-0-23-35-13-5-18-16-30032-11-40-\
             45-43-10-21,29-23-24,0"
        )
    );
    assert_eq!(
        h.ja3s,
        fp("b8a8031b301aef7618403061e9f33065", "32530,4865,40")
    );
    assert_eq!(
        h.ja4.as_deref(),
        Some("t00d1815h2_a30347de7a75_2a77702ff8e0")
    );
    assert_eq!((h.subject, h.issuerdn), (None, None));
}

#[test]
fn arkime_alpn_h2_ev_certificate() {
    let h = check("arkime__tls-alpn-h2.pcap");
    assert_eq!(h.sni.as_deref(), Some("www.cloudflare.com"));
    assert_eq!(h.version.as_deref(), Some("TLS 1.2"));
    assert_eq!(h.cipher_suite.as_deref(), Some("0xcca9"));
    assert_eq!(h.client_alpns, ["h2", "http/1.1"]);
    assert_eq!(h.server_alpn.as_deref(), Some("h2"));
    assert_eq!(h.ja3.unwrap().hash, "3faa4ad39f690c4ef1c3160caa375465");
    assert_eq!(
        h.ja3s,
        fp(
            "7f76f3e952a1bc7d407366fafe1db7ed",
            "771,52393,0-65281-11-16"
        )
    );
    assert_eq!(
        h.ja4.as_deref(),
        Some("t12d4605h2_85626a9a5f7f_aaf95bb78ec9")
    );
    assert_eq!(
        h.subject.as_deref(),
        Some(
            "businessCategory=Private Organization, 1.3.6.1.4.1.311.60.2.1.3=US, \
             1.3.6.1.4.1.311.60.2.1.2=Delaware, serialNumber=4710875, C=US, \
             ST=California, L=San Francisco, O=Cloudflare, Inc., CN=cloudflare.com"
        )
    );
    assert_eq!(
        h.issuerdn.as_deref(),
        Some("C=US, O=DigiCert Inc, OU=www.digicert.com, CN=DigiCert ECC Extended Validation Server CA")
    );
}

#[test]
fn ndpi_curl() {
    let h = check("ndpi__443-curl.pcap");
    assert_eq!(h.sni.as_deref(), Some("www.ntop.org"));
    assert_eq!(h.version.as_deref(), Some("TLS 1.2"));
    assert_eq!(h.cipher_suite.as_deref(), Some("0xc02f"));
    assert_eq!(h.client_alpns, ["h2", "http/1.1"]);
    assert_eq!(h.server_alpn.as_deref(), Some("h2"));
    assert_eq!(h.ja3.unwrap().hash, "2a26b1a62e40d25d4de3babc9d532f30");
    assert_eq!(
        h.ja3s,
        fp(
            "ae53107a2e47ea20c72ac44821a728bf",
            "771,49199,65281-0-11-16"
        )
    );
    assert_eq!(
        h.ja4.as_deref(),
        Some("t12d6707h2_2955a3196ffa_c83f907a73d3")
    );
    assert_eq!(h.subject.as_deref(), Some("CN=www.ntop.org"));
    assert_eq!(
        h.issuerdn.as_deref(),
        Some("C=US, O=Let's Encrypt, CN=Let's Encrypt Authority X3")
    );
}

#[test]
fn suricata_ja4() {
    let h = check("suricata__ja4-tls.pcap");
    assert_eq!(h.sni, None);
    assert_eq!(h.version.as_deref(), Some("TLS 1.2"));
    assert_eq!(h.cipher_suite.as_deref(), Some("0xc02f"));
    assert_eq!(
        h.ja4.as_deref(),
        Some("t12i1810s1_27d4652c4487_06a4338d0495")
    );
    assert_eq!(
        h.ja3,
        fp(
            "308b0bd904abbef5e0034a1ff7a78920",
            "771,49195-49199-158-49162-49161-49171-49172-49159-49169-51-50-57-156-\
             47-53-10-5-4,65281-10-11-35-13172-16-30032-5-18-13,23-24-25,0"
        )
    );
    assert_eq!(
        h.ja3s,
        fp("ccc514751b175866924439bdbb5bba34", "771,49199,65281-11-35")
    );
    let selks = "C=FR, ST=IDF, L=Paris, O=Stamus, CN=SELKS";
    assert_eq!(h.subject.as_deref(), Some(selks));
    assert_eq!(h.issuerdn.as_deref(), Some(selks));
}

#[test]
fn zeek_heartbleed() {
    let h = check("zeek__tls_heartbleed.pcap");
    assert_eq!(h.sni, None);
    assert_eq!(h.version.as_deref(), Some("TLS 1.2"));
    assert_eq!(h.ja3.unwrap().hash, "0fbff214b79f536d55d3d39fb31f4d8d");
    assert_eq!(
        h.ja3s,
        fp("a95ca7eab4d47d051a5cd4fb7b6005dc", "771,49199,65281-11-15")
    );
    assert_eq!(
        h.subject.as_deref(),
        Some("C=US, CN=www.lilawelt.net, Email=denicadmmail@arcor.de")
    );
    assert_eq!(
        h.issuerdn.as_deref(),
        Some(
            "C=IL, O=StartCom Ltd., OU=Secure Digital Certificate Signing, \
             CN=StartCom Class 1 Primary Intermediate Server CA"
        )
    );
}

#[test]
fn ndpi_google_sslv2_client_hello() {
    // The client speaks an SSLv2-compatible ClientHello (RFC 5246 App.
    // E.2), which stops the client direction; the server side remains.
    let h = check("ndpi__google_ssl.pcap");
    assert_eq!((h.sni, h.ja3, h.ja4), (None, None, None));
    assert_eq!(h.version.as_deref(), Some("TLS 1.0"));
    assert_eq!(h.cipher_suite.as_deref(), Some("0x0005"));
    assert_eq!(
        h.subject.as_deref(),
        Some("C=US, ST=California, L=Mountain View, O=Google Inc, CN=www.google.com")
    );
    assert_eq!(
        h.issuerdn.as_deref(),
        Some("C=US, O=Google Inc, CN=Google Internet Authority G2")
    );
}

#[test]
fn ndpi_tls13_final() {
    let h = check("ndpi__dns2tcp_tunnel.pcap");
    assert_eq!(h.sni, None);
    assert_eq!(h.version.as_deref(), Some("TLS 1.3"));
    assert_eq!(h.cipher_suite.as_deref(), Some("0x1301"));
    assert_eq!(h.client_alpns, ["h2", "http/1.1"]);
    assert_eq!(
        h.ja3,
        fp(
            "547df21d727c7b3a5dcb59aa0fd97c2c",
            "771,49199-49200-49195-49196-52392-52393-49171-49161-49172-49162-156-\
             157-47-53-49170-10-4865-4867-4866,13172-5-10-11-13-65281-16-18-43-51,\
             29-23-24-25,0"
        )
    );
    assert_eq!(
        h.ja3s,
        fp("eb1d94daa7e0344597e756a1fb6e7054", "771,4865,51-43")
    );
    // nDPI prints `t13d1910h2_9dc949149365_d811adc85aab`: it sets `d` from
    // the flow's host name (here learnt from DNS), while the ClientHello
    // has no server_name extension, which makes it `i` in the FoxIO spec.
    // Both hashes match nDPI's.
    assert_eq!(
        h.ja4.as_deref(),
        Some("t13i1910h2_9dc949149365_d811adc85aab")
    );
}

// ---- synthetic ----

/// A handshake message: type, u24 length, body.
fn hs(ty: u8, body: &[u8]) -> Vec<u8> {
    let n = body.len();
    let mut v = vec![ty, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    v.extend_from_slice(body);
    v
}

/// One record of type `ty` around `body`.
fn record(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![ty, 3, 3];
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn ext(ty: u16, data: &[u8]) -> Vec<u8> {
    let mut v = ty.to_be_bytes().to_vec();
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
    v
}

fn vec16(data: &[u8]) -> Vec<u8> {
    let mut v = (data.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(data);
    v
}

/// A ClientHello body with the given ciphers and extensions.
fn client_hello(ciphers: &[u16], exts: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[7; 32]);
    b.push(0); // session id
    let c: Vec<u8> = ciphers.iter().flat_map(|c| c.to_be_bytes()).collect();
    b.extend(vec16(&c));
    b.extend_from_slice(&[1, 0]); // compression: null
    b.extend(vec16(&exts.concat()));
    b
}

/// A ServerHello body.
fn server_hello(random: [u8; 32], cipher: u16, exts: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&random);
    b.push(0);
    b.extend_from_slice(&cipher.to_be_bytes());
    b.push(0);
    b.extend(vec16(&exts.concat()));
    b
}

fn sni_ext(host: &[u8]) -> Vec<u8> {
    let mut entry = vec![0];
    entry.extend(vec16(host));
    ext(0, &vec16(&entry))
}

fn records(out: Vec<AppRecord>) -> Vec<TlsHandshake> {
    out.into_iter()
        .map(|r| match r {
            AppRecord::Tls(h) => h,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn grease_and_versions() {
    assert!(hello::is_grease(0x0a0a) && hello::is_grease(0xfafa));
    assert!(!hello::is_grease(0x0a1a) && !hello::is_grease(0xeaea + 1));
    assert_eq!(version_name(0x0300), "SSLv3");
    assert_eq!(version_name(0x0002), "SSLv2");
    assert_eq!(version_name(0x7f1c), "TLS 1.3 draft-28");
    assert_eq!(version_name(0xfefd), "0xfefd");
}

#[test]
fn grease_removed_hrr_skipped_tls13_emits_after_hello() {
    let ch = client_hello(
        &[0x2a2a, 0x1301, 0x1302],
        &[
            ext(0x3a3a, &[]),
            sni_ext(b"example.org"),
            ext(43, &[4, 0x7a, 0x7a, 3, 4]),
            ext(16, &vec16(&[2, b'h', b'2'])),
            ext(13, &vec16(&[0x04, 0x03, 0x08, 0x04])),
        ],
    );
    let mut hrr_random = [0; 32];
    hrr_random.copy_from_slice(&[
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8,
        0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8,
        0x33, 0x9c,
    ]);
    let v13 = ext(43, &[3, 4]);
    let hrr = server_hello(hrr_random, 0x1302, std::slice::from_ref(&v13));
    let sh = server_hello([1; 32], 0x1301, &[v13, ext(16, &vec16(&[2, b'h', b'2']))]);
    let mut p = TlsParser::new(true);
    let mut out = Vec::new();
    p.data(Direction::ToServer, &record(22, &hs(1, &ch)), &mut out);
    p.data(Direction::ToClient, &record(22, &hs(2, &hrr)), &mut out);
    assert!(out.is_empty());
    p.data(Direction::ToClient, &record(22, &hs(2, &sh)), &mut out);
    assert_eq!(out.len(), 1, "TLS 1.3: emitted without waiting for finish");
    p.data(Direction::ToServer, &record(22, &hs(1, &ch)), &mut out);
    p.finish(&mut out);
    let h = records(out).remove(0);
    assert_eq!(h.sni.as_deref(), Some("example.org"));
    assert_eq!(h.version.as_deref(), Some("TLS 1.3"));
    assert_eq!(h.cipher_suite.as_deref(), Some("0x1301"));
    assert_eq!(h.server_alpn.as_deref(), Some("h2"));
    assert_eq!(h.ja3.unwrap().string, "771,4865-4866,0-43-16-13,,");
    assert_eq!(h.ja3s.unwrap().string, "771,4865,43-16");
    let ja4 = h.ja4.unwrap();
    assert!(ja4.starts_with("t13d0204h2_"), "{ja4}");
}

#[test]
fn message_split_across_records_and_alpn_marker() {
    let ch = client_hello(&[0x002f], &[ext(16, &vec16(&[3, 0xff, b'h', b'x']))]);
    let msg = hs(1, &ch);
    let (a, b) = msg.split_at(10);
    let mut stream = record(22, a);
    stream.extend(record(22, b));
    let mut p = TlsParser::new(true);
    let mut out = Vec::new();
    p.data(Direction::ToServer, &stream, &mut out);
    p.finish(&mut out);
    let h = records(out).remove(0);
    assert_eq!(h.version, None);
    assert_eq!(h.client_alpns, ["\u{fffd}hx"]);
    // First octet not alphanumeric: first hex digit of 0xff, last of 'x'
    // (0x78).
    assert!(h.ja4.unwrap().starts_with("t12i0101f8_"));
}

#[test]
fn udp_gap_and_stop_conditions() {
    let ch = record(22, &hs(1, &client_hello(&[0x002f], &[])));
    // UDP: ignored.
    let mut p = TlsParser::new(false);
    let mut out = Vec::new();
    p.data(Direction::ToServer, &ch, &mut out);
    p.finish(&mut out);
    assert!(out.is_empty());
    // Gap before the hello: nothing parsed, nothing emitted.
    let mut p = TlsParser::new(true);
    p.gap(Direction::ToServer);
    p.data(Direction::ToServer, &ch, &mut out);
    p.finish(&mut out);
    assert!(out.is_empty());
    // ChangeCipherSpec, oversized record, non-TLS header: direction stops.
    for prefix in [
        record(20, &[1]),
        vec![22, 3, 3, 0x48, 0x01],
        b"GET / HTTP/1.1\r\n".to_vec(),
    ] {
        let mut p = TlsParser::new(true);
        let mut stream = prefix;
        stream.extend_from_slice(&ch);
        p.data(Direction::ToServer, &stream, &mut out);
        p.finish(&mut out);
        assert!(out.is_empty());
    }
    // A message announcing more than the cap stops the direction.
    let mut p = TlsParser::new(true);
    p.data(Direction::ToServer, &record(22, &[1, 1, 0, 0]), &mut out);
    assert!(p.dirs[0].stopped);
    p.data(Direction::ToServer, &ch, &mut out);
    p.finish(&mut out);
    assert!(out.is_empty());
}

#[test]
fn malformed_hello_is_counted_and_truncations_never_panic() {
    let body = client_hello(
        &[0x1301],
        &[sni_ext(b"a.example"), ext(10, &vec16(&[0, 29]))],
    );
    for cut in 0..body.len() {
        let _ = hello::ClientHello::parse(&body[..cut]);
        let _ = hello::ServerHello::parse(&body[..cut]);
        let _ = x509::first_certificate_names(&body[..cut]);
    }
    let mut p = TlsParser::new(true);
    let mut out = Vec::new();
    p.data(
        Direction::ToServer,
        &record(22, &hs(1, &body[..20])),
        &mut out,
    );
    assert_eq!(p.malformed(), 1);
    p.finish(&mut out);
    assert!(out.is_empty());
}

#[test]
fn names_and_oids() {
    // SET { SEQ { OID 2.5.4.3, UTF8 "a" }, SEQ { OID 1.2.3, BMP "b" } }
    let name = [
        0x31, 0x14, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, b'a', 0x30, 0x08, 0x06,
        0x02, 0x2a, 0x03, 0x1e, 0x02, 0x00, b'b',
    ];
    assert_eq!(x509::name_string(&name).as_deref(), Some("CN=a + 1.2.3=b"));
    assert_eq!(x509::name_string(&[]), None);
    // Long-form lengths beyond four octets and high tag numbers: refused.
    assert_eq!(x509::name_string(&[0x31, 0x85, 0, 0, 0, 0, 1]), None);
    assert_eq!(x509::name_string(&[0x1f, 0x01, 0x00]), None);
}
