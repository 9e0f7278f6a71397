//! xss (todo)
