//! Target `ticket`: an invite as pasted or opened from a link ([`Ticket::parse`]),
//! and its binary form ([`Ticket::from_bytes`]). Whatever is accepted must survive a
//! round trip through every form.

use quire_crypto::Ticket;

use crate::{Outcome, refused};

/// Parses the bytes as text (when they are UTF-8) and as the binary form, and also
/// framed (length and checksum made right, so that mutations reach the fields'
/// parser); `Ok` if any accepted them.
pub fn fuzz(data: &[u8]) -> Outcome {
    if let Ok(ticket) = Ticket::from_bytes(&Ticket::frame(data)) {
        check_round_trip(&ticket);
    }
    let from_bytes = Ticket::from_bytes(data).map_err(refused);
    if let Ok(ticket) = &from_bytes {
        check_round_trip(ticket);
    }
    let parsed = std::str::from_utf8(data)
        .map_err(refused)
        .and_then(|text| Ticket::parse(text).map_err(refused));
    if let Ok(ticket) = &parsed {
        check_round_trip(ticket);
    }
    parsed.or(from_bytes).map(|_| ())
}

/// A ticket's link, text and bytes all parse back to the same invite.
fn check_round_trip(ticket: &Ticket) {
    let bytes = ticket.to_bytes();
    for (form, again) in [
        ("bytes", Ticket::from_bytes(&bytes)),
        ("text", Ticket::parse(&ticket.to_text())),
        ("link", Ticket::parse(&ticket.to_link())),
    ] {
        match again {
            Ok(again) => {
                assert_eq!(again.to_bytes(), bytes, "{form} form reads back otherwise");
                assert_eq!(again.role(), ticket.role());
                assert_eq!(again.doc_id(), ticket.doc_id());
                assert_eq!(again.addrs(), ticket.addrs());
            }
            Err(e) => panic!("an accepted ticket's {form} form is refused: {e}"),
        }
    }
}
