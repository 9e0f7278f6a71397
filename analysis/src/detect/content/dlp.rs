//! dlp (todo)
