//! dns (todo)
