//! Defragmentation tests.
