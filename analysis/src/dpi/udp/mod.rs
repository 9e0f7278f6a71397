//! UDP protocol registry.
//!
//! Contract: [`REGISTRY`] lists every UDP protocol Osprey identifies, the
//! strictest probes first. Each probe sees one whole datagram payload (so
//! `NeedMore` is never useful and none of these probes returns it) and
//! recognises its protocol from the bytes alone: ports only reorder the
//! probes. A probe answers `Match` only when the datagram satisfies every
//! structural constraint its RFC lets us check cheaply (exact lengths,
//! reserved bits, magic values, bounded counts), because a false `Match`
//! mislabels a flow for good while `unknown` merely leaves it unlabelled.
//!
//! Why this order: Kerberos and SNMP are BER structures whose lengths must
//! cover the datagram exactly; DHCP has a 4-byte magic cookie at a fixed
//! offset and DHCPv6 options must tile the datagram; QUIC needs a known
//! 32-bit version; DNS relies on header counts bounded by the payload and a
//! well-formed name; NTP has no magic at all, only field ranges, so it runs
//! last.
//!
//! Probes never allocate, never index out of bounds (every read goes
//! through `get`) and never loop more than a fixed number of times.

use super::Descriptor;

pub(crate) mod ber;
mod dhcp;
mod dns;
mod krb5;
mod ntp;
mod quic;
mod snmp;

/// Every UDP protocol Osprey identifies, in probe order (strictest first).
pub static REGISTRY: &[Descriptor] = &[
    krb5::DESCRIPTOR,
    snmp::DESCRIPTOR,
    dhcp::DESCRIPTOR,
    quic::DESCRIPTOR,
    dns::DESCRIPTOR,
    ntp::DESCRIPTOR,
];

/// Reads a big-endian `u16` at `pos`, if the bytes are there.
fn be16(data: &[u8], pos: usize) -> Option<u16> {
    let b = data.get(pos..pos.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// Reads a big-endian `u32` at `pos`, if the bytes are there.
fn be32(data: &[u8], pos: usize) -> Option<u32> {
    let b = data.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_be_bytes([
        *b.first()?,
        *b.get(1)?,
        *b.get(2)?,
        *b.get(3)?,
    ]))
}

#[cfg(test)]
pub(super) mod test_util {
    //! Helpers shared by the probe tests.

    use crate::dpi::Probe;
    use crate::flow::Direction;

    /// Decodes a hex string (whitespace ignored), as printed by
    /// `tshark -T fields -e udp.payload`.
    pub fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .map(|b| match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => panic!("bad hex digit {b}"),
            })
            .collect();
        assert!(digits.len() & 1 == 0, "odd hex length");
        digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
    }

    /// Asserts that every strict prefix of `data` is rejected in both
    /// directions (and, implicitly, that probing it does not panic).
    pub fn assert_prefixes_rejected(probe: fn(Direction, &[u8]) -> Probe, data: &[u8]) {
        for n in 0..data.len() {
            for dir in [Direction::ToServer, Direction::ToClient] {
                assert_eq!(probe(dir, &data[..n]), Probe::NotMine, "prefix {n} {dir:?}");
            }
        }
    }

    /// Deterministic xorshift64 bytes for fuzz-style tests.
    pub fn noise(seed: &mut u64, out: &mut [u8]) {
        for b in out {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *b = (*seed >> 24) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::noise;
    use super::*;
    use crate::dpi::Probe;
    use crate::flow::Direction;

    #[test]
    fn apps_are_unique() {
        for (i, a) in REGISTRY.iter().enumerate() {
            for b in &REGISTRY[i + 1..] {
                assert_ne!(a.app, b.app);
            }
        }
    }

    #[test]
    fn readers_are_bounded() {
        assert_eq!(be16(&[1, 2], 0), Some(0x0102));
        assert_eq!(be16(&[1, 2], 1), None);
        assert_eq!(be16(&[1, 2], usize::MAX), None);
        assert_eq!(be32(&[1, 2, 3, 4], 0), Some(0x0102_0304));
        assert_eq!(be32(&[1, 2, 3], 0), None);
        assert_eq!(be32(&[], usize::MAX), None);
    }

    #[test]
    fn degenerate_datagrams_match_nothing() {
        for len in 0..1500 {
            for fill in [0x00u8, 0xff, 0x41, 0x80, 0xc0] {
                let d = vec![fill; len];
                for desc in REGISTRY {
                    for dir in [Direction::ToServer, Direction::ToClient] {
                        assert_eq!(
                            (desc.probe)(dir, &d),
                            Probe::NotMine,
                            "{:?} {len} {fill:#x}",
                            desc.app
                        );
                    }
                }
            }
        }
    }

    /// Random datagrams of every size must never be recognised: this is
    /// the false-positive budget of the whole registry.
    #[test]
    fn random_datagrams_match_nothing() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut buf = [0u8; 1400];
        for round in 0..200_000usize {
            let len = [48, 60, 68, 300, 1200, 1400, round % 1400][round % 7];
            noise(&mut seed, &mut buf[..len]);
            for desc in REGISTRY {
                assert_eq!(
                    (desc.probe)(Direction::ToServer, &buf[..len]),
                    Probe::NotMine,
                    "{:?} matched noise {:02x?}",
                    desc.app,
                    &buf[..len.min(64)]
                );
            }
        }
    }
}
