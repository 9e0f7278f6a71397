//! SMB tests: real captures from `../shared/pcaps` (ground truth from
//! `tshark -Y smb2 -T fields -e smb2.cmd -e smb2.msg_id -e smb2.nt_status
//! -e smb2.dialect -e smb2.tree -e smb2.filename -e smb2.read_length
//! -e smb2.write_length` and `-Y smb -e smb.cmd -e smb.dialect.name
//! -e smb.path`, and the Suricata test of `suricata__smb2-06`) and
//! hand-made messages built from MS-SMB2 / MS-NLMP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::dpi::parse::testutil::{check_segmentation, shared_convo};
use Direction::{ToClient, ToServer};

fn txs(records: Vec<AppRecord>) -> Vec<SmbTx> {
    records
        .into_iter()
        .map(|r| match r {
            AppRecord::Smb(t) => t,
            other => panic!("not smb: {other:?}"),
        })
        .collect()
}

fn find(t: &[SmbTx], cmd: u16, id: u64) -> &SmbTx {
    t.iter()
        .find(|t| t.command == SmbCommand::Smb2(cmd) && t.id == id)
        .unwrap_or_else(|| panic!("no command {cmd} id {id}"))
}

#[test]
fn suricata_smb2_06() {
    let c = shared_convo("suricata__smb2-06.pcap", 6, 445);
    let t = txs(check_segmentation(new_parser, &c));
    // SMB1 multi-protocol negotiate answered in SMB2 with the wildcard.
    assert_eq!(t[0].command, SmbCommand::Smb1(0x72));
    assert_eq!(t[0].client_dialects.last().unwrap(), "SMB 2.???");
    assert!(t[0].client_dialects.contains(&"NT LM 0.12".to_string()));
    assert_eq!(t[0].dialect.as_deref(), Some("2.??"));
    let neg = find(&t, 0, 1);
    assert_eq!(neg.client_dialects, ["2.02", "2.10"]);
    assert_eq!(neg.dialect.as_deref(), Some("2.10"));
    let tree = find(&t, 3, 3);
    assert_eq!(tree.share.as_deref(), Some("\\\\DC1.contoso.local\\IPC$"));
    assert_eq!(tree.tree_id, 1);
    let create = find(&t, 5, 37);
    assert_eq!(create.filename.as_deref(), Some("lsarpc"));
    assert_eq!(create.session_id, 35_184_439_197_745);
    assert_eq!(
        (create.status, create.status_code.as_deref()),
        (Some("STATUS_SUCCESS"), Some("0x0"))
    );
    assert_eq!(create.dialect.as_deref(), Some("2.10"));
    assert_eq!(create.share.as_deref(), Some("\\\\DC1.contoso.local\\IPC$"));
    // Later commands on the pipe carry its name.
    let ioctl = find(&t, 11, 8);
    assert_eq!(ioctl.filename.as_deref(), Some("samr"));
    let json = serde_json::to_value(create).unwrap();
    assert_eq!(json["command"], "SMB2_COMMAND_CREATE");
    assert!(t.iter().all(|t| t.response_done));
}

#[test]
fn zeek_read_write() {
    let c = shared_convo("zeek__smb_smb2readwrite.pcap", 6, 445);
    let t = txs(check_segmentation(new_parser, &c));
    let read = find(&t, 8, 1234);
    assert_eq!((read.length, read.offset), (Some(16), Some(0)));
    assert_eq!(read.filename.as_deref(), Some("pythonfile"));
    let write = find(&t, 9, 1238);
    assert_eq!((write.length, write.offset), (Some(7000), Some(0)));
    assert_eq!(write.filename.as_deref(), Some("pythonfile2"));
    assert_eq!(write.tree_id, 0x5319_6c7a);
    assert_eq!(write.session_id, 0x3c23_1cc0);
    let nf = find(&t, 5, 1240);
    assert_eq!(nf.filename.as_deref(), Some("desktop.ini"));
    assert_eq!(nf.status, Some("STATUS_OBJECT_NAME_NOT_FOUND"));
    let find_dir = find(&t, 14, 1244);
    assert_eq!(find_dir.status, Some("STATUS_NO_MORE_FILES"));
}

#[test]
fn ndpi_delete_compound() {
    let c = shared_convo("ndpi__smb_deletefile.pcap", 6, 445);
    let t = txs(check_segmentation(new_parser, &c));
    let create = find(&t, 5, 4005);
    assert_eq!(
        create.filename.as_deref(),
        Some("Luca\\Downloads\\innosetup-5.6.1.exe")
    );
    // Related compound: SET_INFO and CLOSE use the CREATE's file.
    assert_eq!(find(&t, 17, 4006).filename, create.filename);
    assert_eq!(find(&t, 6, 4007).filename, create.filename);
    assert!(find(&t, 17, 4006).response_done);
    // The unsolicited oplock break (id 0xFFFF…) is a record of its own.
    assert!(t
        .iter()
        .any(|t| t.command == SmbCommand::Smb2(18) && t.id == u64::MAX));
    assert_eq!(
        find(&t, 5, 4021).status,
        Some("STATUS_OBJECT_NAME_NOT_FOUND")
    );
}

#[test]
fn smb1_sessions() {
    // Dialect index 8 and 5 (`smb.dialect.index`).
    for (name, share, dialect, user) in [
        (
            "arkime__smb-smbclient.pcap",
            "\\\\LOCALHOST\\MP3",
            "NT LANMAN 1.0",
            ("user", "WORKGROUP"),
        ),
        (
            "ndpi__smbv1.pcap",
            "\\\\10.128.0.243\\IPC$",
            "NT LM 0.12",
            // A null session: empty account and domain.
            ("", ""),
        ),
    ] {
        let c = shared_convo(name, 6, 445);
        let t = txs(check_segmentation(new_parser, &c));
        assert_eq!(t[0].command, SmbCommand::Smb1(0x72), "{name}");
        assert_eq!(t[0].client_dialects[0], "PC NETWORK PROGRAM 1.0");
        assert_eq!(t[0].dialect.as_deref(), Some(dialect));
        let tree = t
            .iter()
            .find(|t| t.command == SmbCommand::Smb1(0x75))
            .unwrap();
        assert_eq!(tree.share.as_deref(), Some(share), "{name}");
        // `smb.account` / `smb.primary_domain` of the session setup.
        let setup = t
            .iter()
            .find(|t| t.command == SmbCommand::Smb1(0x73))
            .unwrap();
        let account = setup.account.as_ref().unwrap();
        assert_eq!(
            (account.user.as_str(), account.domain.as_str()),
            user,
            "{name}"
        );
        // ndpi__smbv1 ends on a TRANS2 request without response.
        assert!(t.iter().all(|t| t.request_done), "{name}");
        assert!(t.iter().filter(|t| !t.response_done).count() <= 1, "{name}");
    }
}

/// An SMB2 header (MS-SMB2 §2.2.1.2) for `cmd`, `id`.
fn header(cmd: u16, id: u64, response: bool, status: u32, next: u32) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\xfeSMB");
    h[4] = 64;
    h[8..12].copy_from_slice(&status.to_le_bytes());
    h[12..14].copy_from_slice(&cmd.to_le_bytes());
    h[16..20].copy_from_slice(&u32::from(response).to_le_bytes());
    h[20..24].copy_from_slice(&next.to_le_bytes());
    h[24..32].copy_from_slice(&id.to_le_bytes());
    h
}

fn frame(msg: &[u8]) -> Vec<u8> {
    let mut f = (msg.len() as u32).to_be_bytes().to_vec();
    f[0] = 0;
    f.extend_from_slice(msg);
    f
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// An NTLMSSP AUTHENTICATE message (MS-NLMP §2.2.1.3), Unicode.
fn ntlm_auth(domain: &str, user: &str, host: &str) -> Vec<u8> {
    let mut m = vec![0u8; 64];
    m[..8].copy_from_slice(b"NTLMSSP\0");
    m[8] = 3;
    m[60] = 1; // NTLMSSP_NEGOTIATE_UNICODE
    for (field, s) in [(28, domain), (36, user), (44, host)] {
        let b = utf16le(s);
        let off = m.len() as u32;
        m[field..field + 2].copy_from_slice(&(b.len() as u16).to_le_bytes());
        m[field + 4..field + 8].copy_from_slice(&off.to_le_bytes());
        m.extend_from_slice(&b);
    }
    m
}

fn run(chunks: &[(Direction, Vec<u8>)]) -> Vec<SmbTx> {
    let mut p = SmbParser::new(true);
    let mut out = Vec::new();
    for (d, b) in chunks {
        p.data(*d, b, &mut out);
    }
    p.finish(&mut out);
    txs(out)
}

#[test]
fn ntlmssp_session_setup_and_failure() {
    let mut req = header(1, 2, false, 0, 0);
    req.extend_from_slice(&[25, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    req.extend_from_slice(b"\xa1\x82SPNEGO-ish");
    req.extend_from_slice(&ntlm_auth("CORP", "alice", "WS01"));
    let resp = header(1, 2, true, 0xc000_006d, 0);
    let t = run(&[(ToServer, frame(&req)), (ToClient, frame(&resp))]);
    assert_eq!(t.len(), 1);
    assert_eq!(
        t[0].ntlmssp,
        Some(Ntlmssp {
            domain: "CORP".into(),
            user: "alice".into(),
            host: "WS01".into()
        })
    );
    assert_eq!(t[0].status, Some("STATUS_LOGON_FAILURE"));
}

#[test]
fn unknown_commands_pending_and_encrypted() {
    let mut interim = header(0x77, 5, true, STATUS_PENDING, 0);
    interim[16] = 3; // response | async
    let t = run(&[
        (ToServer, frame(&header(0x77, 5, false, 0, 0))),
        (ToClient, frame(&interim)),
        (ToClient, frame(&header(0x77, 5, true, 0xdead_beef, 0))),
        (ToServer, frame(b"\xfdSMB transformed")),
        (ToServer, frame(b"\xfdSMB again")),
        (ToServer, frame(&header(9, 6, false, 0, 0))),
    ]);
    assert_eq!(t.len(), 3);
    assert_eq!(t[0].command, SmbCommand::Smb2(0x77));
    assert_eq!(
        (t[0].status, t[0].status_code.as_deref()),
        (None, Some("0xdeadbeef"))
    );
    assert_eq!(
        serde_json::to_value(&t[0]).unwrap()["command"],
        "SMB2_COMMAND_UNKNOWN_0x0077"
    );
    assert!(!t[1].response_done);
    assert_eq!(t[2].encrypted_messages, Some(2));
}

#[test]
fn hostile_input_is_bounded() {
    // A huge declared length is skipped, never buffered beyond MAX_KEEP.
    let mut p = SmbParser::new(true);
    let mut out = Vec::new();
    p.data(ToServer, &[0, 0xff, 0xff, 0xff], &mut out);
    p.data(ToServer, b"\xfeSMB", &mut out);
    for _ in 0..100 {
        p.data(ToServer, &[0u8; 4096], &mut out);
    }
    assert!(p.dirs[0].buf.len() <= MAX_KEEP);
    // A compound chain pointing at itself or out of the message stops.
    let mut loop_msg = header(5, 1, false, 0, 64);
    loop_msg.extend(header(5, 2, false, 0, 8));
    p.data(ToClient, &frame(&loop_msg), &mut out);
    // Random bytes: no panic, bounded output.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..3000 {
        let mut buf = [0u8; 53];
        for b in &mut buf {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = seed as u8;
        }
        let mut q = SmbParser::new(true);
        q.data(if i % 2 == 0 { ToServer } else { ToClient }, &buf, &mut out);
        q.data(ToClient, &frame(&buf), &mut out);
        q.finish(&mut out);
    }
    p.finish(&mut out);
    assert!(out.len() < 10_000);
    let mut u = new_parser(false);
    u.data(ToServer, &frame(&header(0, 0, false, 0, 0)), &mut out);
}
