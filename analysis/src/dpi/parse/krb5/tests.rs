//! Kerberos tests. The shared corpus has no Kerberos capture: the AS-REQ
//! and KRB-ERROR are the MIT kinit / KDC exchange already used by the
//! probe tests (`dpi/udp/krb5.rs`), the AS-REP is built here from RFC 4120
//! §5.4.2 with a tiny BER encoder.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use Direction::{ToClient, ToServer};

const AS_REQ: &str = "6a81b63081b3a103020105a20302010aa31a3018300aa10402020096a2020400300aa1040202\
0095a2020400a4818a308187a00703050000000010a1123010a003020101a10930071b05616c696365a20e1b0c\
4558414d504c452e54455354a321301fa003020102a11830161b066b72627467741b0c4558414d504c452e5445\
5354a511180f32303236313031303233353131305aa70602044646428ba81a3018020112020111020114020113\
02011002011702011902011a";

const KRB_ERROR: &str =
    "7e81ea3081e7a003020105a10302011ea411180f32303236313030393233353132345aa5050203\
0be900a603020119a70e1b0c4558414d504c452e54455354a8123010a003020101a10930071b05616c696365a9\
0e1b0c4558414d504c452e54455354aa21301fa003020102a11830161b066b72627467741b0c4558414d504c45\
2e54455354ab101b0e4e45454445445f50524541555448ac530451304f300aa10402020088a20204003027a103\
020113a220041e301c301aa003020112a1131b114558414d504c452e54455354616c6963653009a103020102a2\
020400300da10402020085a20504034d4954";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn t(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = content.len();
    if n < 0x80 {
        v.push(n as u8);
    } else {
        v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(content);
    v
}

fn principal(kind: u8, parts: &[&str]) -> Vec<u8> {
    let names: Vec<u8> = parts.iter().flat_map(|p| t(0x1b, p.as_bytes())).collect();
    t(
        0x30,
        &[t(0xa0, &t(0x02, &[kind])), t(0xa1, &t(0x30, &names))].concat(),
    )
}

fn enc_data(etype: u8) -> Vec<u8> {
    t(
        0x30,
        &[t(0xa0, &t(0x02, &[etype])), t(0xa2, &t(0x04, &[0xaa; 40]))].concat(),
    )
}

/// AS-REP (RFC 4120 §5.4.2) for alice@EXAMPLE.TEST, ticket etype `etype`.
fn as_rep(etype: u8) -> Vec<u8> {
    let ticket = t(
        0x61,
        &t(
            0x30,
            &[
                t(0xa0, &t(0x02, &[5])),
                t(0xa1, &t(0x1b, b"EXAMPLE.TEST")),
                t(0xa2, &principal(2, &["krbtgt", "EXAMPLE.TEST"])),
                t(0xa3, &enc_data(etype)),
            ]
            .concat(),
        ),
    );
    let seq = [
        t(0xa0, &t(0x02, &[5])),
        t(0xa1, &t(0x02, &[11])),
        t(0xa3, &t(0x1b, b"EXAMPLE.TEST")),
        t(0xa4, &principal(1, &["alice"])),
        t(0xa5, &ticket),
        t(0xa6, &enc_data(18)),
    ]
    .concat();
    t(0x6b, &t(0x30, &seq))
}

fn run(tcp: bool, chunks: &[(Direction, Vec<u8>)]) -> Vec<Krb5Message> {
    let mut p = new_parser(tcp);
    let mut out = Vec::new();
    for (d, b) in chunks {
        p.data(*d, b, &mut out);
    }
    p.finish(&mut out);
    out.into_iter()
        .map(|r| match r {
            AppRecord::Krb5(m) => m,
            other => panic!("not krb5: {other:?}"),
        })
        .collect()
}

#[test]
fn kdc_exchange_udp() {
    let m = run(
        false,
        &[
            (ToServer, hex(AS_REQ)),
            (ToClient, hex(KRB_ERROR)),
            (ToClient, as_rep(23)),
        ],
    );
    assert_eq!(m.len(), 3);
    assert_eq!(m[0].msg_type, Krb5MsgType::AsReq);
    assert_eq!(m[0].cname.as_deref(), Some("alice"));
    assert_eq!(m[0].realm.as_deref(), Some("EXAMPLE.TEST"));
    assert_eq!(m[0].sname.as_deref(), Some("krbtgt/EXAMPLE.TEST"));
    assert_eq!(
        m[0].etypes[..3],
        [
            "aes256-cts-hmac-sha1-96",
            "aes128-cts-hmac-sha1-96",
            "aes256-cts-hmac-sha384-192"
        ]
    );
    assert!(m[0].etypes.contains(&"rc4-hmac".to_string()));
    assert_eq!(m[1].msg_type, Krb5MsgType::Error);
    assert_eq!(m[1].error_code, Some(Krb5ErrorCode(25)));
    assert_eq!(m[1].cname.as_deref(), Some("alice"));
    assert_eq!(m[1].sname.as_deref(), Some("krbtgt/EXAMPLE.TEST"));
    let json = serde_json::to_value(&m[1]).unwrap();
    assert_eq!(json["error_code"], "KDC_ERR_PREAUTH_REQUIRED");
    assert_eq!(json["msg_type"], "KRB_ERROR");
    assert_eq!(m[2].msg_type, Krb5MsgType::AsRep);
    assert_eq!(m[2].cname.as_deref(), Some("alice"));
    assert_eq!(m[2].sname.as_deref(), Some("krbtgt/EXAMPLE.TEST"));
    assert_eq!(m[2].encryption.as_deref(), Some("rc4-hmac"));
    assert!(m[2].weak_encryption);
    assert!(!run(false, &[(ToClient, as_rep(18))])[0].weak_encryption);
}

#[test]
fn tcp_framing_any_split() {
    let mut stream = Vec::new();
    for msg in [hex(AS_REQ), vec![0x30, 0], hex(AS_REQ)] {
        stream.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        stream.extend_from_slice(&msg);
    }
    let whole = run(true, &[(ToServer, stream.clone())]);
    assert_eq!(whole.len(), 2);
    for cut in 0..=stream.len() {
        let split = run(
            true,
            &[
                (ToServer, stream[..cut].to_vec()),
                (ToServer, stream[cut..].to_vec()),
            ],
        );
        assert_eq!(split, whole, "cut at {cut}");
    }
    let bytewise: Vec<_> = stream.iter().map(|&b| (ToServer, vec![b])).collect();
    assert_eq!(run(true, &bytewise), whole);
    // Oversized messages are skipped by length; the reserved bit stops.
    let mut big = (MAX_TCP_MSG as u32 + 1).to_be_bytes().to_vec();
    big.extend(vec![0u8; MAX_TCP_MSG + 1]);
    big.extend_from_slice(&(hex(AS_REQ).len() as u32).to_be_bytes());
    big.extend(hex(AS_REQ));
    assert_eq!(run(true, &[(ToServer, big)]).len(), 1);
    assert!(run(
        true,
        &[(ToServer, [&[0x80, 0, 0, 5][..], &hex(AS_REQ)].concat())]
    )
    .is_empty());
}

#[test]
fn truncation_and_unknown() {
    for msg in [hex(AS_REQ), hex(KRB_ERROR), as_rep(17)] {
        for cut in 0..msg.len() {
            let _ = parse(&msg[..cut]);
        }
    }
    // AP-REQ (application 14) is logged by type only.
    let m = parse(&t(0x6e, &t(0x30, &[]))).unwrap();
    assert_eq!(m.msg_type, Krb5MsgType::Unknown(14));
    assert_eq!(serde_json::to_value(&m).unwrap()["msg_type"], "UNKNOWN_14");
    assert_eq!(etype_name(99), "unknown-99");
    assert_eq!(serde_json::to_value(Krb5ErrorCode(1234)).unwrap(), "1234");
    assert!(parse(&[0x30, 0]).is_none());
}

#[test]
fn garbage_is_bounded() {
    let base = hex(KRB_ERROR);
    let mut seed = 0x0bad_cafe_u64;
    let mut out = 0;
    for i in 0..5000 {
        let mut b = base.clone();
        for _ in 0..(i % 4 + 1) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed as usize) % b.len();
            b[at] = (seed >> 40) as u8;
        }
        out += run(false, &[(ToClient, b.clone())]).len();
        out += run(true, &[(ToClient, b)]).len();
    }
    assert!(out <= 10_000);
}
