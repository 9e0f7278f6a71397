//! Initial packet protection (RFC 9001 §5): key derivation from the
//! client's Destination Connection ID, header protection removal and
//! AES-128-GCM payload decryption.
//!
//! # Contract
//! - [`InitialKeys::derive`] returns `None` for versions whose Initial
//!   salt Osprey does not know (see [`initial_salt`]).
//! - [`Keys::open`] returns `None` on any malformed input (packet too
//!   short for the header-protection sample, RFC 9001 §5.4.2) or when the
//!   AEAD tag does not verify; it never panics and allocates only the
//!   plaintext (at most the packet's length).

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;

/// QUIC v1 (RFC 9000).
pub const V1: u32 = 1;
/// QUIC v2 (RFC 9369 §3.1).
pub const V2: u32 = 0x6b33_43cf;

/// Initial salt of QUIC v1 and drafts 33–34 (RFC 9001 §5.2).
const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
/// Initial salt of QUIC v2 (RFC 9369 §3.3.1).
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
/// Initial salt of drafts 29–32 (draft-ietf-quic-tls-29 §5.2).
const SALT_DRAFT29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
    0x43, 0x90, 0xa8, 0x99,
];
/// Initial salt of drafts 23–28 (draft-ietf-quic-tls-23 §5.2), also used
/// by mvfst `0xfaceb002` and `0xfaceb00e` (draft-27 based).
const SALT_DRAFT23: [u8; 20] = [
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65,
    0xbe, 0xf9, 0xf5, 0x02,
];

/// Length of the AEAD tag (AES-128-GCM, RFC 9001 §5.3).
pub const TAG_LEN: usize = 16;
/// Length of the header-protection sample (RFC 9001 §5.4.2).
const SAMPLE_LEN: usize = 16;

/// The Initial salt of a version; `None` for versions without a known
/// Initial protection (Google QUIC, unknown drafts, greased versions).
pub fn initial_salt(version: u32) -> Option<&'static [u8; 20]> {
    match version {
        V1 | 0xff00_0021..=0xff00_0022 => Some(&SALT_V1),
        V2 => Some(&SALT_V2),
        0xff00_001d..=0xff00_0020 => Some(&SALT_DRAFT29),
        0xff00_0017..=0xff00_001c | 0xface_b002 | 0xface_b00e => Some(&SALT_DRAFT23),
        _ => None,
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label(secret: &[u8], label: &str, out: &mut [u8]) -> Option<()> {
    let hk = Hkdf::<Sha256>::from_prk(secret).ok()?;
    let full_len = 6 + label.len();
    let mut info = Vec::with_capacity(4 + full_len);
    info.extend_from_slice(&u16::try_from(out.len()).ok()?.to_be_bytes());
    info.push(u8::try_from(full_len).ok()?);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label.as_bytes());
    info.push(0);
    hk.expand(&info, out).ok()
}

/// Packet protection keys of one direction (RFC 9001 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// AEAD key.
    pub key: [u8; 16],
    /// AEAD IV.
    pub iv: [u8; 12],
    /// Header-protection key.
    pub hp: [u8; 16],
}

impl Keys {
    /// Keys from a traffic secret; v2 uses its own labels (RFC 9369 §3.3.2).
    fn from_secret(secret: &[u8], v2: bool) -> Option<Keys> {
        let (lk, li, lh) = if v2 {
            ("quicv2 key", "quicv2 iv", "quicv2 hp")
        } else {
            ("quic key", "quic iv", "quic hp")
        };
        let mut k = Keys {
            key: [0; 16],
            iv: [0; 12],
            hp: [0; 16],
        };
        expand_label(secret, lk, &mut k.key)?;
        expand_label(secret, li, &mut k.iv)?;
        expand_label(secret, lh, &mut k.hp)?;
        Some(k)
    }

    /// The five-octet header-protection mask of a sample (RFC 9001
    /// §5.4.3, AES-ECB).
    pub fn mask(&self, sample: &[u8; SAMPLE_LEN]) -> [u8; 5] {
        let cipher = Aes128::new(GenericArray::from_slice(&self.hp));
        let mut block = GenericArray::clone_from_slice(sample);
        cipher.encrypt_block(&mut block);
        let mut m = [0; 5];
        m.copy_from_slice(block.get(..5).unwrap_or(&[0; 5]));
        m
    }

    /// Removes header protection from the long-header packet `packet`
    /// (first octet to end of packet, the packet number starting at
    /// `pn_offset`) and decrypts its payload. `largest` is the largest
    /// packet number decrypted so far in this direction, used to expand
    /// the truncated packet number (RFC 9000 §17.1). Returns the full
    /// packet number and the plaintext frames.
    pub fn open(
        &self,
        packet: &[u8],
        pn_offset: usize,
        largest: Option<u64>,
    ) -> Option<(u64, Vec<u8>)> {
        // RFC 9001 §5.4.2: the sample starts 4 octets after the start of
        // the packet number field.
        let sample: &[u8; SAMPLE_LEN] = packet
            .get(pn_offset + 4..pn_offset + 4 + SAMPLE_LEN)?
            .try_into()
            .ok()?;
        let mask = self.mask(sample);
        let first = packet.first()? ^ (mask[0] & 0x0f);
        let pn_len = usize::from(first & 0x03) + 1;
        let header_len = pn_offset + pn_len;
        let mut aad = packet.get(..header_len)?.to_vec();
        *aad.first_mut()? = first;
        let mut truncated = 0u64;
        for (i, m) in mask.iter().skip(1).take(pn_len).enumerate() {
            let b = aad.get_mut(pn_offset + i)?;
            *b ^= m;
            truncated = truncated << 8 | u64::from(*b);
        }
        let pn = decode_packet_number(largest, truncated, pn_len * 8);
        let mut nonce = self.iv;
        for (n, p) in nonce.iter_mut().skip(4).zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        let ciphertext = packet.get(header_len..)?;
        if ciphertext.len() < TAG_LEN {
            return None;
        }
        let cipher = Aes128Gcm::new_from_slice(&self.key).ok()?;
        let plain = cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .ok()?;
        Some((pn, plain))
    }
}

/// Expands a truncated packet number (RFC 9000 Appendix A.3).
pub fn decode_packet_number(largest: Option<u64>, truncated: u64, bits: usize) -> u64 {
    let expected = largest.map_or(0, |l| l.saturating_add(1));
    let win = 1u64 << bits.min(32);
    let hwin = win / 2;
    let candidate = (expected & !(win - 1)) | truncated;
    if candidate.saturating_add(hwin) <= expected && candidate < (1u64 << 62) - win {
        candidate + win
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

/// Client and server Initial keys of one connection (RFC 9001 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialKeys {
    /// Version the keys belong to.
    pub version: u32,
    /// The Destination Connection ID they derive from.
    pub dcid: Vec<u8>,
    /// Client → server.
    pub client: Keys,
    /// Server → client.
    pub server: Keys,
}

impl InitialKeys {
    /// Derives both directions' Initial keys from the client's
    /// Destination Connection ID; `None` for a version without a known
    /// salt.
    pub fn derive(version: u32, dcid: &[u8]) -> Option<InitialKeys> {
        let salt = initial_salt(version)?;
        let (initial, _) = Hkdf::<Sha256>::extract(Some(salt), dcid);
        let mut client = [0u8; 32];
        let mut server = [0u8; 32];
        expand_label(&initial, "client in", &mut client)?;
        expand_label(&initial, "server in", &mut server)?;
        let v2 = version == V2;
        Some(InitialKeys {
            version,
            dcid: dcid.to_vec(),
            client: Keys::from_secret(&client, v2)?,
            server: Keys::from_secret(&server, v2)?,
        })
    }
}
