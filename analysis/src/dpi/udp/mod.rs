//! UDP protocol registry (filled in by the protocol modules).

use super::Descriptor;

/// Every UDP protocol Osprey identifies, in probe order.
pub static REGISTRY: &[Descriptor] = &[];
