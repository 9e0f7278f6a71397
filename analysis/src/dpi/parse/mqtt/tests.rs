//! Tests: `samples/mqtt.pcap` (recorded here with mosquitto, see
//! samples/README.md; ground truth from `tshark -Y mqtt -T fields -e
//! mqtt.msgtype -e mqtt.clientid -e mqtt.username -e mqtt.willtopic -e
//! mqtt.topic -e mqtt.qos -e mqtt.retain -e mqtt.msgid`, and the CONNACK
//! codes from `-O mqtt -V`) and hand-made packets from the MQTT 3.1.1 and
//! 5.0 specifications.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::dpi::parse::testutil::{check_segmentation, sample_convos, Convo};

use Direction::{ToClient, ToServer};

fn recs(r: Vec<AppRecord>) -> Vec<MqttRecord> {
    r.into_iter()
        .map(|r| match r {
            AppRecord::Mqtt(t) => t,
            o => panic!("{o:?}"),
        })
        .collect()
}

fn kinds(r: &[MqttRecord]) -> Vec<&str> {
    r.iter().map(|r| r.kind.as_str()).collect()
}

#[test]
fn recorded_capture() {
    let convos = sample_convos("mqtt.pcap", 6);
    assert_eq!(convos.len(), 3);
    let r: Vec<Vec<MqttRecord>> = convos
        .iter()
        .map(|(port, c)| {
            assert_eq!(*port, 1883);
            recs(check_segmentation(new_parser, c))
        })
        .collect();

    // mosquitto_pub -V mqttv311 -q 1 -r with a will.
    assert_eq!(
        kinds(&r[0]),
        ["CONNECT", "CONNACK", "PUBLISH", "PUBACK", "DISCONNECT"]
    );
    let c = &r[0][0];
    assert_eq!(c.protocol_string.as_deref(), Some("MQTT"));
    assert_eq!(c.protocol_version, Some(4));
    assert_eq!(c.client_id.as_deref(), Some("pub311"));
    assert_eq!(c.username.as_deref(), Some("sensor"));
    assert_eq!(c.will_topic.as_deref(), Some("sensors/status"));
    assert_eq!((c.keepalive, c.clean_session), (Some(60), Some(true)));
    assert!(c.password_seen);
    assert_eq!(
        (r[0][1].return_code, r[0][1].auth_success),
        (Some(0), Some(true))
    );
    let p = &r[0][2];
    assert_eq!(p.topic.as_deref(), Some("sensors/temp"));
    assert_eq!(
        (p.qos, p.retain, p.message_id, p.payload_len),
        (Some(1), true, Some(1), Some(4))
    );
    assert_eq!(r[0][3].message_id, Some(1));
    let j = serde_json::to_string(c).unwrap();
    assert!(!j.contains("s3cret"), "{j}");

    // MQTT 5 with a wrong password: Not authorized (135).
    assert_eq!(kinds(&r[1]), ["CONNECT", "CONNACK"]);
    assert_eq!(r[1][0].protocol_version, Some(5));
    assert_eq!(r[1][0].client_id.as_deref(), Some("pub5"));
    assert_eq!(
        (r[1][1].reason_code, r[1][1].auth_success),
        (Some(135), Some(false))
    );

    // MQTT 5 subscriber receiving the retained message.
    assert_eq!(
        kinds(&r[2]),
        [
            "CONNECT",
            "CONNACK",
            "SUBSCRIBE",
            "SUBACK",
            "PUBLISH",
            "DISCONNECT"
        ]
    );
    let topics: Vec<_> = r[2][2].topics.iter().map(|t| t.topic.as_str()).collect();
    assert_eq!(topics, ["sensors/#", "alerts"]);
    assert_eq!(r[2][2].message_id, Some(1));
    let p = &r[2][4];
    assert_eq!(p.direction, "to_client");
    assert_eq!(
        (p.topic.as_deref(), p.qos, p.retain, p.payload_len),
        (Some("sensors/temp"), Some(0), true, Some(4))
    );
}

#[test]
fn unknown_type_and_big_publish() {
    // Type 15 (AUTH) before any MQTT 5 CONNECT, type 0 stops.
    let mut big = vec![0x30];
    let rem = 2 + 5 + 100_000;
    let mut n = rem;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            big.push(b);
            break;
        }
        big.push(b | 0x80);
    }
    big.extend([0, 5]);
    big.extend(b"a/b/c");
    big.extend(vec![0; 100_000]);
    let c: Convo = vec![
        (ToServer, vec![0xf0, 0]),
        (ToServer, big),
        (ToServer, vec![0xc0, 0, 0x00, 0]),
    ];
    let r = recs(crate::dpi::parse::testutil::whole(new_parser, &c));
    assert_eq!(kinds(&r), ["Unknown(15)", "PUBLISH"]);
    assert_eq!(r[1].payload_len, Some(100_000));
    assert_eq!(r[1].topic.as_deref(), Some("a/b/c"));
}

#[test]
fn garbage_and_long_varints() {
    let noise = crate::dpi::parse::testutil::noise(13, 4000);
    for c in [
        vec![(ToServer, noise.clone()), (ToClient, noise)],
        vec![(ToServer, vec![0x30, 0xff, 0xff, 0xff, 0xff, 0x01])],
        vec![(ToServer, vec![0x10, 0x05, 0x00, 0xff, b'M', b'Q', b'T'])],
        vec![(ToServer, vec![0x82, 0x04, 0, 1, 0xff, 0xff])],
    ] {
        assert!(check_segmentation(new_parser, &c).len() <= 64);
    }
}
