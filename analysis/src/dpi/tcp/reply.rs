//! The `220` service-ready greeting SMTP and FTP servers share, and how to
//! tell the two apart from the server side alone.
//!
//! Both protocols open with a `220` reply, single-line (`220 text`) or
//! multi-line (`220-text` … `220 text`; RFC 5321 §4.2.1, RFC 959 §4.2).
//! Each complete greeting line's words decide: `SMTP`/`ESMTP`, or the
//! name of a mail server, means SMTP; `FTP` or `FileZilla` means FTP. A
//! greeting with both or neither waits for the server's next reply, which
//! answers the client's first command: `250` to `EHLO`/`HELO` is SMTP;
//! `331`/`332`/`230`/`530` to `USER`, `234` to `AUTH TLS`, `211` to
//! `FEAT` or `215` to `SYST` is FTP. Anything else stays undecided, and
//! the probe buffer bound makes the flow `unknown`.

use super::wire::{contains_ci, line};

/// What the server side says so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Server {
    /// An SMTP server.
    Smtp,
    /// An FTP server.
    Ftp,
    /// A valid `220` greeting so far that names neither protocol yet.
    Undecided,
    /// Not a `220` greeting, or a reply that fits neither protocol.
    Neither,
}

/// Words in a greeting that mean SMTP.
const SMTP_WORDS: &[&[u8]] = &[b"SMTP", b"Postfix", b"Exim", b"Sendmail", b"qmail"];
/// Words in a greeting that mean FTP.
const FTP_WORDS: &[&[u8]] = &[b"FTP", b"FileZilla"];
/// Second reply codes that only an FTP server sends first.
const FTP_CODES: &[&[u8]] = &[b"331", b"332", b"230", b"530", b"234", b"211", b"215"];

/// Classifies the server side of a flow that may be SMTP or FTP.
pub(super) fn classify(data: &[u8]) -> Server {
    if !b"220".iter().zip(data).all(|(a, b)| a == b) {
        return Server::Neither;
    }
    let mut rest = data;
    let mut first = true;
    let mut smtp = false;
    let mut ftp = false;
    // The greeting: "220-" lines (any text lines after the first, for
    // FTP) up to the "220 " line.
    loop {
        let Some((text, after)) = line(rest) else {
            return partial_line_ok(rest, first);
        };
        if !text.iter().all(|&b| b == b'\t' || super::wire::is_text(b)) {
            return Server::Neither;
        }
        let code = text.get(..3);
        let sep = text.get(3).copied();
        if first && (code != Some(b"220") || !matches!(sep, None | Some(b' ' | b'-'))) {
            return Server::Neither;
        }
        first = false;
        smtp |= SMTP_WORDS.iter().any(|w| contains_ci(text, w));
        ftp |= FTP_WORDS.iter().any(|w| contains_ci(text, w));
        // Decided on complete lines only, so a verdict never changes as
        // more bytes arrive.
        match (smtp, ftp) {
            (true, false) => return Server::Smtp,
            (false, true) => return Server::Ftp,
            _ => {}
        }
        rest = after;
        if code == Some(b"220") && sep != Some(b'-') {
            break;
        }
    }
    // The reply to the client's first command.
    match rest.get(..4) {
        None => partial_line_ok(rest, false),
        Some(reply) if !matches!(reply.get(3), Some(b' ' | b'-')) => Server::Neither,
        Some(reply) if reply.starts_with(b"250") => Server::Smtp,
        Some(reply) if FTP_CODES.iter().any(|c| reply.starts_with(c)) => Server::Ftp,
        Some(_) => Server::Neither,
    }
}

/// An unterminated line: still a valid prefix if it is text (and, for the
/// first line, a prefix of `220 ` / `220-`).
fn partial_line_ok(rest: &[u8], first: bool) -> Server {
    let text = rest
        .iter()
        .all(|&b| b == b'\t' || b == b'\r' || super::wire::is_text(b));
    let head_ok = !first
        || match rest.get(3) {
            None => b"220".starts_with(rest.get(..3).unwrap_or(rest)),
            Some(&b) => rest.starts_with(b"220") && (b == b' ' || b == b'-'),
        };
    if text && head_ok {
        Server::Undecided
    } else {
        Server::Neither
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings() {
        let smtp = b"220 pigeon.eyrie.af.mil ESMTP Sendmail 8.8.7/8.8.7\r\n";
        assert_eq!(classify(smtp), Server::Smtp);
        assert_eq!(classify(b"220 (vsFTPd 3.0.3)\r\n"), Server::Ftp);
        let filezilla = b"220-FileZilla Server 0.9.60 beta\r\n220-by Tim Kosse\r\n220 Hi\r\n";
        assert_eq!(classify(filezilla), Server::Ftp);
        let ms = b"220-Microsoft FTP Service\r\nWelcome\r\n220 \r\n";
        assert_eq!(classify(ms), Server::Ftp);
        // Undecided until the next reply, then decided by its code.
        assert_eq!(classify(b"220 Welcome\r\n"), Server::Undecided);
        assert_eq!(classify(b"220 Welcome\r\n33"), Server::Undecided);
        assert_eq!(classify(b"220 Welcome\r\n331 Password\r\n"), Server::Ftp);
        assert_eq!(classify(b"220 Welcome\r\n250-hi\r\n"), Server::Smtp);
        assert_eq!(classify(b"220 Welcome\r\n421 Bye\r\n"), Server::Neither);
        // Both words: the reply decides.
        let both = b"220 ftp.example.com ESMTP\r\n";
        assert_eq!(classify(both), Server::Undecided);
        assert_eq!(
            classify(b"220 ftp.example.com ESMTP\r\n250 hi\r\n"),
            Server::Smtp
        );
        // A partial greeting is undecided even if a word already showed.
        assert_eq!(classify(b"220 ftp.example.com"), Server::Undecided);
    }

    #[test]
    fn not_greetings() {
        for bytes in [
            &b"200 news ready\r\n"[..],
            b"+OK POP3 ready\r\n",
            b"* OK IMAP4rev1\r\n",
            b"2201 x\r\n",
            b"22x",
            b"220 \x01\x02\r\n",
            b"221 bye\r\n",
        ] {
            assert_eq!(classify(bytes), Server::Neither, "{bytes:?}");
        }
        for n in 0..3 {
            assert_eq!(
                classify(b"220".get(..n).unwrap_or_default()),
                Server::Undecided
            );
        }
    }
}
