//! Tests with real captures and hand-made streams.
//!
//! The real cases read, at test time, the SSH connection (the first TCP
//! conversation to port 22; tshark's `tcp.stream` 1 in
//! `suricata__ssh-hassh`, 0 in the others) of the public capture
//! `../shared/pcaps/<name>.pcap`, never copied into the repository,
//! reassembled by Osprey's own TCP reassembler. Each direction is cut after
//! the banner, the KEXINIT and the first 48 bytes after it (see
//! [`kexinit_prefix`]). Expected banners, HASSH strings and hashes
//! come from tshark's `ssh.protocol`, `ssh.kex.hassh[server]` and
//! `ssh.kex.hassh[server]_algorithms`; for `suricata__ssh-hassh` the hashes
//! and strings also match that pcap's Suricata test (`*.suricata.test.yaml`
//! and `.rules`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;

use crate::dpi::parse::testutil;
use Direction::{ToClient, ToServer};

/// The first bytes of one direction: the banner line, the packet after it
/// (the KEXINIT, unencrypted: 4 length bytes, then that many) and the
/// first 48 bytes after that packet.
fn kexinit_prefix(mut s: Vec<u8>) -> Vec<u8> {
    let nl = s.iter().position(|&b| b == b'\n').unwrap() + 1;
    let len = u32::from_be_bytes(s[nl..nl + 4].try_into().unwrap()) as usize;
    s.truncate(nl + 4 + len + 48);
    s
}

/// The client and server bytes of `../shared/pcaps/<name>.pcap` (see
/// [`kexinit_prefix`]), read once per test binary.
fn shared(name: &str) -> (&'static [u8], &'static [u8]) {
    type Sides = (&'static [u8], &'static [u8]);
    static CACHE: std::sync::Mutex<Vec<(String, Sides)>> = std::sync::Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap();
    if let Some((_, sides)) = cache.iter().find(|(n, _)| n == name) {
        return *sides;
    }
    let c = testutil::shared_convo(&format!("{name}.pcap"), 6, 22);
    let side = |d| -> &'static [u8] {
        Box::leak(kexinit_prefix(testutil::stream(&c, d)).into_boxed_slice())
    };
    let sides = (side(ToServer), side(ToClient));
    cache.push((name.to_owned(), sides));
    sides
}

/// One real case: the two directions and what they must give.
struct Case {
    name: &'static str,
    client: &'static [u8],
    server: &'static [u8],
    /// proto, software, hassh, hassh string.
    want_client: (&'static str, &'static str, &'static str, &'static str),
    want_server: (&'static str, &'static str, &'static str, &'static str),
}

const ZEEK_KEX: &str = "diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1";
const CBC_ETC: &str = "aes128-cbc,3des-cbc,blowfish-cbc,cast128-cbc,arcfour,aes192-cbc,aes256-cbc,rijndael-cbc@lysator.liu.se,aes128-ctr,aes192-ctr,aes256-ctr";
const OLD_MACS: &str =
    "hmac-md5,hmac-sha1,hmac-ripemd160,hmac-ripemd160@openssh.com,hmac-sha1-96,hmac-md5-96";
const OPENSSH39_SERVER: &str = "diffie-hellman-group-exchange-sha1,diffie-hellman-group14-sha1,diffie-hellman-group1-sha1;aes128-cbc,3des-cbc,blowfish-cbc,cast128-cbc,arcfour,aes192-cbc,aes256-cbc,rijndael-cbc@lysator.liu.se,aes128-ctr,aes192-ctr,aes256-ctr;hmac-md5,hmac-sha1,hmac-ripemd160,hmac-ripemd160@openssh.com,hmac-sha1-96,hmac-md5-96;none,zlib";
const OPENSSH5_KEX: &str = "diffie-hellman-group-exchange-sha256,diffie-hellman-group-exchange-sha1,diffie-hellman-group14-sha1,diffie-hellman-group1-sha1;aes128-ctr,aes192-ctr,aes256-ctr,arcfour256,arcfour128,aes128-cbc,3des-cbc,blowfish-cbc,cast128-cbc,aes192-cbc,aes256-cbc,arcfour,rijndael-cbc@lysator.liu.se;hmac-md5,hmac-sha1,umac-64@openssh.com,hmac-ripemd160,hmac-ripemd160@openssh.com,hmac-sha1-96,hmac-md5-96;none,zlib@openssh.com";
const MODERN_MACS: &str = "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1";
const MODERN_ENC: &str = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com";

fn cases() -> Vec<Case> {
    let zeek_client = format!("{ZEEK_KEX};{CBC_ETC};{OLD_MACS};none,zlib");
    let suri_client = format!(
        "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,diffie-hellman-group14-sha256,diffie-hellman-group14-sha1,ext-info-c;{MODERN_ENC};{MODERN_MACS};none"
    );
    let suri_server = format!(
        "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,diffie-hellman-group14-sha256,diffie-hellman-group14-sha1,diffie-hellman-group1-sha1;{MODERN_ENC},aes128-cbc,aes192-cbc,aes256-cbc,blowfish-cbc,cast128-cbc,3des-cbc;{MODERN_MACS};none,zlib@openssh.com"
    );
    let ossh5_client = format!("{OPENSSH5_KEX},zlib");
    let tcpdump_client = format!(
        "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,diffie-hellman-group14-sha1,ext-info-c;{MODERN_ENC};{MODERN_MACS};none,zlib@openssh.com,zlib"
    );
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    vec![
        Case {
            name: "zeek__ssh_single-conn",
            client: shared("zeek__ssh_single-conn").0,
            server: shared("zeek__ssh_single-conn").1,
            want_client: ("2.0", "OpenSSH_3.8.1p1", "c4fd9343cba76d12f0dd523fbe7c4da1", leak(zeek_client)),
            want_server: ("1.99", "OpenSSH_3.9p1", "f430cd6761697a6a658ee1d45ed22e49", OPENSSH39_SERVER),
        },
        Case {
            name: "suricata__ssh-hassh",
            client: shared("suricata__ssh-hassh").0,
            server: shared("suricata__ssh-hassh").1,
            want_client: ("2.0", "OpenSSH_for_Windows_7.7", "2dd6531c7e89d3c925db9214711be76a", leak(suri_client)),
            want_server: ("2.0", "OpenSSH_7.4", "6832f1ce43d4397c2c0a3e2f8c94334e", leak(suri_server)),
        },
        Case {
            name: "ndpi__ssh",
            client: shared("ndpi__ssh").0,
            server: shared("ndpi__ssh").1,
            want_client: ("2.0", "OpenSSH_5.6", "21b457a327ce7a2d4fce5ef2c42400bd", leak(ossh5_client.clone())),
            want_server: ("2.0", "OpenSSH_5.3", "b1c6c0d56317555b85c7005a3de29325", OPENSSH5_KEX),
        },
        Case {
            name: "arkime__ssh2",
            client: shared("arkime__ssh2").0,
            server: shared("arkime__ssh2").1,
            want_client: ("2.0", "OpenSSH_5.3", "21b457a327ce7a2d4fce5ef2c42400bd", leak(ossh5_client)),
            want_server: ("1.99", "OpenSSH_3.9p1", "f430cd6761697a6a658ee1d45ed22e49", OPENSSH39_SERVER),
        },
        Case {
            name: "tcpdump__ssh",
            client: shared("tcpdump__ssh").0,
            server: shared("tcpdump__ssh").1,
            want_client: ("2.0", "OpenSSH_7.8", "ec7378c1a92f5a8dde7e8b7a1ddf33d1", leak(tcpdump_client)),
            // Banner `SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u3`: the comment
            // is dropped, as Suricata does.
            want_server: (
                "2.0",
                "OpenSSH_7.4p1",
                "c099ec12a2b4c3b347f8f17d966469ed",
                "curve25519-sha256@libssh.org,diffie-hellman-group18-sha512,diffie-hellman-group16-sha512;chacha20-poly1305@openssh.com,aes256-ctr,aes256-gcm@openssh.com;hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com;none,zlib@openssh.com",
            ),
        },
    ]
}

fn side(w: (&str, &str, &str, &str)) -> SshSide {
    SshSide {
        proto_version: w.0.into(),
        software_version: w.1.into(),
        hassh: Some(Fingerprint {
            hash: w.2.into(),
            string: w.3.into(),
        }),
    }
}

fn banner_only(proto: &str, software: &str) -> SshSide {
    SshSide {
        proto_version: proto.into(),
        software_version: software.into(),
        hassh: None,
    }
}

fn sessions(records: Vec<AppRecord>) -> Vec<SshSession> {
    records
        .into_iter()
        .map(|r| match r {
            AppRecord::Ssh(s) => s,
            other => panic!("not ssh: {other:?}"),
        })
        .collect()
}

/// Feeds `(direction, chunk)` in order, then finishes; returns what was
/// emitted before `finish` and in all.
fn run(chunks: &[(Direction, &[u8])]) -> (Vec<SshSession>, Vec<SshSession>) {
    let mut p = SshParser::new(true);
    let mut out = Vec::new();
    for (d, b) in chunks {
        p.data(*d, b, &mut out);
    }
    let before = sessions(out.clone());
    p.finish(&mut out);
    (before, sessions(out))
}

fn whole(c: &[u8], s: &[u8]) -> Vec<SshSession> {
    run(&[(ToServer, c), (ToClient, s)]).1
}

#[test]
fn real_captures() {
    for case in cases() {
        let want = SshSession {
            client: Some(side(case.want_client)),
            server: Some(side(case.want_server)),
        };
        // Both banners and KEXINITs seen: emitted before `finish`.
        let (before, all) = run(&[(ToServer, case.client), (ToClient, case.server)]);
        assert_eq!(before, vec![want.clone()], "{}", case.name);
        assert_eq!(all, vec![want.clone()], "{}", case.name);
        // Server first: same record.
        let (before, _) = run(&[(ToClient, case.server), (ToServer, case.client)]);
        assert_eq!(before, vec![want.clone()], "{}", case.name);
        for s in [&want.client, &want.server].into_iter().flatten() {
            let h = s.hassh.as_ref().unwrap();
            assert_eq!(h.hash, format!("{:x}", Md5::digest(h.string.as_bytes())));
        }
    }
}

#[test]
fn eve_shape() {
    let case = &cases()[1];
    let rec = AppRecord::Ssh(whole(case.client, case.server).remove(0));
    assert_eq!(rec.event_type(), "ssh");
    let v = serde_json::to_value(&rec).unwrap();
    assert_eq!(v["client"]["proto_version"], "2.0");
    assert_eq!(
        v["client"]["hassh"]["hash"],
        "2dd6531c7e89d3c925db9214711be76a"
    );
    assert_eq!(v["server"]["software_version"], "OpenSSH_7.4");
    assert_eq!(
        v["server"]["hassh"]["hash"],
        "6832f1ce43d4397c2c0a3e2f8c94334e"
    );
    assert!(v["server"]["hassh"]["string"]
        .as_str()
        .unwrap()
        .ends_with(";none,zlib@openssh.com"));
    // No fingerprint: no `hassh` key.
    let v = serde_json::to_value(banner_only("1.5", "x")).unwrap();
    assert!(v.get("hassh").is_none());
}

#[test]
fn segmentation_does_not_matter() {
    for case in cases() {
        let want = whole(case.client, case.server);
        // One byte per call, directions interleaved.
        let mut chunks = Vec::new();
        for i in 0..case.client.len().max(case.server.len()) {
            if let Some(b) = case.client.get(i..=i) {
                chunks.push((ToServer, b));
            }
            if let Some(b) = case.server.get(i..=i) {
                chunks.push((ToClient, b));
            }
        }
        assert_eq!(run(&chunks).1, want, "{} byte by byte", case.name);
        // Split each direction at every offset.
        for i in 0..=case.client.len().max(case.server.len()) {
            let (c1, c2) = case.client.split_at(i.min(case.client.len()));
            let (s1, s2) = case.server.split_at(i.min(case.server.len()));
            let got = run(&[
                (ToServer, c1),
                (ToClient, s1),
                (ToServer, c2),
                (ToClient, s2),
            ])
            .1;
            assert_eq!(got, want, "{} split at {i}", case.name);
        }
    }
}

#[test]
fn truncation_never_panics_and_keeps_what_is_whole() {
    for case in cases() {
        let c_banner = case.client.iter().position(|&b| b == b'\n').unwrap() + 1;
        let s_banner = case.server.iter().position(|&b| b == b'\n').unwrap() + 1;
        let full = whole(case.client, case.server).remove(0);
        for n in 0..=case.server.len() {
            // Server cut at `n`, client whole; then the reverse.
            let got = whole(case.client, &case.server[..n]);
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].client, full.client);
            assert_eq!(got[0].server.is_some(), n >= s_banner, "{} {n}", case.name);
            if let Some(s) = &got[0].server {
                let full_s = full.server.as_ref().unwrap();
                assert_eq!(s.software_version, full_s.software_version);
                assert!(s.hassh.is_none() || s.hassh == full_s.hassh);
            }
        }
        for n in 0..=case.client.len() {
            let got = whole(&case.client[..n], case.server);
            assert_eq!(got[0].client.is_some(), n >= c_banner, "{} {n}", case.name);
            assert_eq!(got[0].server, full.server);
        }
        // Both cut: never panics, never more than one record.
        for n in (0..case.client.len()).step_by(7) {
            let got = whole(&case.client[..n], &case.server[..n.min(case.server.len())]);
            assert!(got.len() <= 1);
        }
    }
}

#[test]
fn ssh1_banner() {
    let mut p = SshParser::new(true);
    let mut out = Vec::new();
    p.data(ToClient, b"SSH-1.5-1.2.27\n\0\0\0\x08garbage", &mut out);
    p.data(
        ToServer,
        b"SSH-1.5-OpenSSH_2.1 extra\r\n\0\0\0\x10x",
        &mut out,
    );
    // Both directions stopped after their SSH 1 banners: emitted now.
    assert_eq!(
        sessions(out),
        vec![SshSession {
            client: Some(banner_only("1.5", "OpenSSH_2.1")),
            server: Some(banner_only("1.5", "1.2.27")),
        }]
    );
    let mut out = Vec::new();
    p.finish(&mut out);
    assert!(out.is_empty());
}

#[test]
fn lines_before_the_banner() {
    let case = &cases()[1];
    let mut server = b"Welcome\r\n\r\nSS\nSSH\n".to_vec();
    server.extend_from_slice(case.server);
    assert_eq!(whole(case.client, &server), whole(case.client, case.server));

    // 16 lines are skipped, a 17th is too many.
    let mut ok = b"x\n".repeat(16);
    ok.extend_from_slice(b"SSH-2.0-srv\r\n");
    assert_eq!(whole(b"", &ok)[0].server, Some(banner_only("2.0", "srv")));
    let mut bad = b"x\n".repeat(17);
    bad.extend_from_slice(b"SSH-2.0-srv\r\n");
    assert!(whole(b"", &bad).is_empty());

    // Byte budget, with one long line.
    let mut ok = vec![b'a'; MAX_PRE_BANNER_BYTES - 1];
    ok.extend_from_slice(b"\nSSH-2.0-srv\r\n");
    assert_eq!(whole(b"", &ok)[0].server, Some(banner_only("2.0", "srv")));
    let mut bad = vec![b'a'; MAX_PRE_BANNER_BYTES];
    bad.extend_from_slice(b"\nSSH-2.0-srv\r\n");
    assert!(whole(b"", &bad).is_empty());
}

/// Banner bytes and the (proto, software) they give, if any.
type BannerCase = (&'static [u8], Option<(&'static str, &'static str)>);

#[test]
fn banner_forms() {
    let cases: &[BannerCase] = &[
        (
            b"SSH-2.0-billsSSH_3.6.3q3\r\n",
            Some(("2.0", "billsSSH_3.6.3q3")),
        ),
        (
            b"SSH-2.0-billsSSH_3.6.3q3 comment here\r\n",
            Some(("2.0", "billsSSH_3.6.3q3")),
        ),
        (b"SSH-2.0-OpenSSH_3.9p1\n", Some(("2.0", "OpenSSH_3.9p1"))),
        (b"SSH-2.0-\r\n", Some(("2.0", ""))),
        (b"SSH-2.0-a-b\r\n", Some(("2.0", "a-b"))),
        (b"SSH-2.0-\xff\r\n", Some(("2.0", "\u{fffd}"))),
        (b"SSH--soft\r\n", None),
        (b"SSH-2.0\r\n", None),
    ];
    for (bytes, want) in cases {
        let got = whole(bytes, b"");
        let want = want.map(|(p, s)| banner_only(p, s));
        assert_eq!(
            got.first().and_then(|s| s.client.clone()),
            want,
            "{bytes:?}"
        );
    }
    assert_eq!(parse_banner(b"SSH--x"), Err(SshError::BadBanner));
    assert_eq!(parse_banner(&[b'a'; 255]), Err(SshError::BannerTooLong));
}

#[test]
fn banner_length_cap() {
    // 255 bytes with CR LF is the most (RFC 4253 §4.2).
    let mut ok = b"SSH-2.0-".to_vec();
    ok.resize(253, b'x');
    ok.extend_from_slice(b"\r\n");
    assert_eq!(ok.len(), MAX_LINE_LEN);
    let got = whole(&ok, b"");
    assert_eq!(
        got[0].client.as_ref().unwrap().software_version.len(),
        253 - 8
    );
    let mut bad = b"SSH-2.0-".to_vec();
    bad.resize(254, b'x');
    bad.extend_from_slice(b"\r\n");
    assert!(whole(&bad, b"").is_empty());
    // Also when fed byte by byte, and without any LF at all.
    let chunks: Vec<_> = bad.chunks(1).map(|b| (ToServer, b)).collect();
    assert!(run(&chunks).1.is_empty());
    assert!(whole(&[b'S'; 100_000], b"").is_empty());
}

/// A binary packet around `payload` with 4 bytes of padding.
fn packet(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() + 5) as u32;
    let mut p = len.to_be_bytes().to_vec();
    p.push(4);
    p.extend_from_slice(payload);
    p.extend_from_slice(&[0; 4]);
    p
}

/// A KEXINIT payload with the given eight name-lists (then empty
/// languages, false and the reserved 0).
fn kexinit(lists: [&[u8]; 8]) -> Vec<u8> {
    let mut p = vec![MSG_KEXINIT];
    p.extend_from_slice(&[0xaa; COOKIE_LEN]);
    for l in lists.iter().chain(&[&b""[..], b""]) {
        p.extend_from_slice(&(l.len() as u32).to_be_bytes());
        p.extend_from_slice(l);
    }
    p.extend_from_slice(&[0, 0, 0, 0, 0]);
    p
}

#[test]
fn hand_made_kexinit() {
    let lists: [&[u8]; 8] = [b"kex", b"hk", b"e1", b"e2", b"m1", b"m2", b"c1", b"c2"];
    let mut c = b"SSH-2.0-c\r\n".to_vec();
    c.extend(packet(&kexinit(lists)));
    let mut s = b"SSH-2.0-s\r\n".to_vec();
    s.extend(packet(&kexinit(lists)));
    let got = whole(&c, &s).remove(0);
    assert_eq!(got.client.unwrap().hassh.unwrap().string, "kex;e1;m1;c1");
    let h = got.server.unwrap().hassh.unwrap();
    assert_eq!(h.string, "kex;e2;m2;c2");
    assert_eq!(h.hash, format!("{:x}", Md5::digest(b"kex;e2;m2;c2")));
}

#[test]
fn name_list_cap() {
    let big = vec![b'a'; MAX_NAME_LIST_LEN];
    let bigger = vec![b'a'; MAX_NAME_LIST_LEN + 1];
    let lists = |k: &[u8]| kexinit([k, b"", b"", b"", b"", b"", b"", b""]);
    assert!(kexinit_hassh(&lists(&big), true).is_ok());
    assert_eq!(
        kexinit_hassh(&lists(&bigger), true),
        Err(SshError::BadKexinit)
    );
    // In a stream: the banner is kept, without a fingerprint.
    let mut c = b"SSH-2.0-c\r\n".to_vec();
    c.extend(packet(&lists(&bigger)));
    assert_eq!(whole(&c, b"")[0].client, Some(banner_only("2.0", "c")));
}

#[test]
fn kexinit_truncated_at_every_offset() {
    let case = &cases()[0];
    let nl = case.client.iter().position(|&b| b == b'\n').unwrap() + 1;
    let len = u32::from_be_bytes(case.client[nl..nl + 4].try_into().unwrap()) as usize;
    let pad = usize::from(case.client[nl + 4]);
    let payload = &case.client[nl + 5..nl + 4 + len - pad];
    assert!(kexinit_hassh(payload, true).is_ok());
    for n in 0..payload.len() {
        // Cut anywhere: an error or (past the eighth list) a fingerprint.
        let _ = kexinit_hassh(&payload[..n], true);
        let _ = kexinit_hassh(&payload[..n], false);
    }
    assert_eq!(
        kexinit_hassh(&payload[..20], true),
        Err(SshError::BadKexinit)
    );
}

#[test]
fn other_first_packets_and_bad_lengths() {
    // SSH_MSG_IGNORE first: banner only, and the direction is settled.
    let mut c = b"SSH-2.0-c\r\n".to_vec();
    c.extend(packet(&[2, 0, 0, 0, 0]));
    let mut s = b"SSH-2.0-s\r\n".to_vec();
    s.extend(packet(&[2, 0, 0, 0, 0]));
    let (before, _) = run(&[(ToServer, &c), (ToClient, &s)]);
    assert_eq!(before[0].client, Some(banner_only("2.0", "c")));
    for len in [0u32, 1, MAX_PACKET_LEN as u32 + 1, u32::MAX] {
        let mut c = b"SSH-2.0-c\r\n".to_vec();
        c.extend_from_slice(&len.to_be_bytes());
        c.extend_from_slice(&[0; 64]);
        let (before, _) = run(&[(ToServer, &c), (ToClient, &s)]);
        assert_eq!(before[0].client, Some(banner_only("2.0", "c")), "{len}");
    }
    // Padding that eats the payload.
    let mut c = b"SSH-2.0-c\r\n".to_vec();
    c.extend_from_slice(&[0, 0, 0, 8, 7, 20, 0, 0, 0, 0, 0, 0]);
    let (before, _) = run(&[(ToServer, &c), (ToClient, &s)]);
    assert_eq!(before[0].client, Some(banner_only("2.0", "c")));
}

#[test]
fn gaps_stop_a_direction() {
    let case = &cases()[1];
    let mut p = SshParser::new(true);
    let mut out = Vec::new();
    p.data(ToServer, &case.client[..40], &mut out);
    p.gap(ToServer);
    p.data(ToServer, &case.client[40..], &mut out);
    assert!(out.is_empty());
    p.data(ToClient, case.server, &mut out);
    // The server side settled the session: the client kept its banner.
    let got = sessions(out);
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].client,
        Some(banner_only("2.0", "OpenSSH_for_Windows_7.7"))
    );
    assert_eq!(got[0].server, Some(side(case.want_server)));

    // Gap before the banner: nothing from that side.
    let mut p = SshParser::new(true);
    let mut out = Vec::new();
    p.gap(ToServer);
    p.data(ToServer, case.client, &mut out);
    p.data(ToClient, &case.server[..10], &mut out);
    p.finish(&mut out);
    assert!(out.is_empty());
}

#[test]
fn one_record_and_nothing_without_banner() {
    let case = &cases()[2];
    let mut p = SshParser::new(true);
    let mut out = Vec::new();
    p.data(ToServer, case.client, &mut out);
    p.data(ToClient, case.server, &mut out);
    p.data(ToClient, case.server, &mut out);
    p.finish(&mut out);
    p.finish(&mut out);
    assert_eq!(out.len(), 1);

    assert!(whole(b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\n").is_empty());
    assert!(whole(b"", b"").is_empty());
}

#[test]
fn udp_is_ignored() {
    let case = &cases()[0];
    let mut p = new_parser(false);
    let mut out = Vec::new();
    p.data(ToServer, case.client, &mut out);
    p.data(ToClient, case.server, &mut out);
    p.gap(ToServer);
    p.finish(&mut out);
    assert!(out.is_empty());
}

#[test]
fn end_reasons() {
    let ends = |c: &[u8], s: &[u8]| {
        let mut p = SshParser::new(true);
        let mut out = Vec::new();
        p.data(ToServer, c, &mut out);
        p.data(ToClient, s, &mut out);
        p.gap(ToClient);
        [p.dirs[0].stage, p.dirs[1].stage]
    };
    let case = &cases()[3];
    assert_eq!(
        ends(case.client, case.server),
        [Stage::Done(End::Kexinit), Stage::Done(End::Kexinit)]
    );
    let mut ignore = b"SSH-2.0-c\r\n".to_vec();
    ignore.extend(packet(&[2, 0, 0, 0, 0]));
    assert_eq!(
        ends(&ignore, b"SSH-1.5-s\n"),
        [Stage::Done(End::NotKexinit), Stage::Done(End::Ssh1)]
    );
    // An unknown version still gets its first packet read.
    assert_eq!(
        ends(b"SSH-3.0-c\r\n", b"SSH-2.0-s\r\n\0\0"),
        [Stage::Packet, Stage::Done(End::Gap)]
    );
    assert_eq!(
        ends(
            b"SSH-2.0-c\r\n\0\0\0\x01",
            &[b'x'; MAX_PRE_BANNER_BYTES + 1]
        ),
        [
            Stage::Done(End::Error(SshError::BadPacketLength)),
            Stage::Done(End::Error(SshError::PreBannerTooLong))
        ]
    );
}
