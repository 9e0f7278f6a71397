//! TCP protocol registry (filled in by the protocol modules).

use super::Descriptor;

/// Every TCP protocol Osprey identifies, in probe order.
pub static REGISTRY: &[Descriptor] = &[];
