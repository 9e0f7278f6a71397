//! http (todo)
