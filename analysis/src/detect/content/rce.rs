//! rce (todo)
