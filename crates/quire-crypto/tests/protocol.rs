//! End-to-end checks of sealing, opening and invites across devices, as peers use them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use proptest::prelude::*;
use quire_crypto::{
    DeviceIdentity, DocKeys, Envelope, EnvelopeError, Hello, Kind, LocalSession,
    MAX_MESSAGE_OVERHEAD, Opened, ReadKey, Received, ReplayError, ReplayWindow, Role, Sealed,
    SessionBook, Ticket, TicketError, open, open_hello, receive,
};

/// About one keystroke's yrs update.
const KEYSTROKE_UPDATE: &[u8; 15] = b"\x01\x01\xa3\x8f\xd2\x0b\x05\x84\x9a\x02\x01\x61\x00\x00\x00";

struct Peer {
    identity: DeviceIdentity,
    keys: DocKeys,
    session: LocalSession,
    book: SessionBook,
}

impl Peer {
    fn new(keys: &DocKeys) -> Self {
        let identity = DeviceIdentity::generate();
        let session = LocalSession::start(&identity, keys);
        Self {
            identity,
            keys: keys.clone(),
            session,
            book: SessionBook::new(),
        }
    }

    fn hello(&self) -> Vec<u8> {
        self.session.hello().unwrap().encode()
    }

    fn receive(&mut self, bytes: &[u8]) -> Result<Received, EnvelopeError> {
        let topic = self.keys.topic();
        receive(&self.keys, &mut self.book, bytes, &topic)
    }

    fn open_message(&mut self, bytes: &[u8]) -> Result<Opened, EnvelopeError> {
        match self.receive(bytes)? {
            Received::Message(opened) => Ok(opened),
            Received::Session { .. } => panic!("expected a message, got a hello"),
        }
    }
}

/// A writer and a reader of one document who have exchanged hellos.
fn writer_and_reader() -> (Peer, Peer) {
    let (keys, _) = DocKeys::generate();
    let mut writer = Peer::new(&keys);
    let mut reader = Peer::new(&keys.read_only());
    let writer_hello = writer.hello();
    let reader_hello = reader.hello();
    assert!(matches!(
        reader.receive(&writer_hello).unwrap(),
        Received::Session { is_new: true, .. }
    ));
    assert!(matches!(
        writer.receive(&reader_hello).unwrap(),
        Received::Session { is_new: true, .. }
    ));
    (writer, reader)
}

#[test]
fn updates_and_awareness_round_trip() {
    let (mut writer, mut reader) = writer_and_reader();
    let update = writer
        .session
        .seal(1, Kind::Update, KEYSTROKE_UPDATE)
        .unwrap()
        .encode();
    let opened = reader.open_message(&update).unwrap();
    assert_eq!(opened.plaintext, KEYSTROKE_UPDATE);
    assert_eq!(opened.sender, writer.identity.peer_id());
    assert_eq!(opened.device, writer.identity.public_key());
    assert_eq!(
        (opened.seq, opened.kind, opened.from_writer),
        (1, Kind::Update, true)
    );
    assert_eq!(opened.session, writer.session.id());

    let awareness = reader
        .session
        .seal(7, Kind::Awareness, b"{\"cursor\":3}")
        .unwrap()
        .encode();
    let opened = writer.open_message(&awareness).unwrap();
    assert_eq!(opened.plaintext, b"{\"cursor\":3}");
    assert_eq!((opened.kind, opened.from_writer), (Kind::Awareness, false));

    let empty = writer
        .session
        .seal(2, Kind::Awareness, b"")
        .unwrap()
        .encode();
    assert_eq!(reader.open_message(&empty).unwrap().plaintext, b"");
}

#[test]
fn a_read_only_members_updates_are_rejected_by_everyone() {
    let (mut writer, mut reader) = writer_and_reader();
    let mut other_reader = Peer::new(&reader.keys);
    other_reader.receive(&reader.hello()).unwrap();

    let forged = reader
        .session
        .seal(1, Kind::Update, KEYSTROKE_UPDATE)
        .unwrap()
        .encode();
    assert_eq!(writer.open_message(&forged), Err(EnvelopeError::NotAWriter));
    assert_eq!(
        other_reader.open_message(&forged),
        Err(EnvelopeError::NotAWriter)
    );
    assert_eq!(reader.session.role(), Role::Read);
}

#[test]
fn a_reader_cannot_pass_off_its_update_as_awareness_or_another_session() {
    let (writer, mut reader) = writer_and_reader();
    let mut observer = Peer::new(&reader.keys);
    observer.receive(&writer.hello()).unwrap();
    observer.receive(&reader.hello()).unwrap();
    let forged = reader
        .session
        .seal(1, Kind::Update, KEYSTROKE_UPDATE)
        .unwrap();

    // No session's signature verifies, so no session is found for it.
    let mut as_writer = forged.clone();
    as_writer.hint = writer.session.id().hint();
    assert_eq!(
        observer.open_message(&as_writer.encode()),
        Err(EnvelopeError::UnknownSession(as_writer.hint))
    );

    // Awareness is accepted from readers, so the kind must be covered by the signature.
    let mut awareness = forged.encode();
    awareness[0] = (awareness[0] & 0xf0) | 2;
    assert!(matches!(
        observer.open_message(&awareness),
        Err(EnvelopeError::UnknownSession(_))
    ));
}

#[test]
fn tampering_with_any_byte_is_detected_with_the_right_error() {
    let (mut writer, reader) = writer_and_reader();
    let envelope = writer
        .session
        .seal(1, Kind::Update, KEYSTROKE_UPDATE)
        .unwrap();
    let bytes = envelope.encode();
    let topic = reader.keys.topic();
    let check = |tampered: &[u8]| -> Result<Opened, EnvelopeError> {
        match Sealed::decode(tampered)? {
            Sealed::Message(envelope) => open(&reader.keys, &reader.book, &envelope, &topic),
            Sealed::Hello(_) => panic!("a tampered message decoded as a hello"),
        }
    };
    assert!(check(&bytes).is_ok());
    let seq_at = 3;
    for index in 0..bytes.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut tampered = bytes.clone();
            tampered[index] ^= flip;
            let error = check(&tampered).unwrap_err();
            let expected = match index {
                // The header: the version (high bits) or the kind (low bits).
                0 => matches!(
                    error,
                    EnvelopeError::UnsupportedVersion(_) | EnvelopeError::Malformed(_)
                ),
                1..=2 => matches!(error, EnvelopeError::UnknownSession(_)),
                _ if index == seq_at => {
                    matches!(
                        error,
                        EnvelopeError::UnknownSession(_) | EnvelopeError::Malformed(_)
                    )
                }
                // The signature no longer verifies under the session the hint names.
                _ => matches!(error, EnvelopeError::UnknownSession(_)),
            };
            assert!(expected, "byte {index} ^ {flip:#x} gave {error:?}");
        }
    }
    // Cut short or extended.
    for len in 0..bytes.len() {
        assert!(check(&bytes[..len]).is_err(), "truncated to {len}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        check(&longer).unwrap_err(),
        EnvelopeError::UnknownSession(_)
    ));
}

#[test]
fn tampering_with_a_hello_is_detected() {
    let (keys, _) = DocKeys::generate();
    let writer = Peer::new(&keys);
    let bytes = writer.hello();
    for index in 0..bytes.len() {
        let mut tampered = bytes.clone();
        tampered[index] ^= 0x01;
        let result =
            Hello::decode(&tampered).and_then(|hello| open_hello(&keys, &hello, &keys.topic()));
        assert!(result.is_err(), "byte {index} of the hello");
    }
}

/// Whether `a` and `b` have an 8-byte run in common (a random match is a 1 in 2^64
/// chance per pair of positions, so any match means a shared field).
fn share_a_run(a: &[u8], b: &[u8]) -> bool {
    a.windows(8)
        .any(|run| b.windows(8).any(|other| other == run))
}

#[test]
fn an_observer_without_the_read_key_learns_neither_device_nor_topic_from_a_hello() {
    let (keys, doc_id) = DocKeys::generate();
    let device = DeviceIdentity::generate();
    let device_key = device.public_key().to_bytes();
    let peer_id = device.peer_id().to_bytes();
    for keys in [keys.clone(), keys.read_only()] {
        let session = LocalSession::start(&device, &keys);
        let first = session.hello().unwrap().encode();
        let again = session.hello().unwrap().encode();
        let next_session = LocalSession::start(&device, &keys)
            .hello()
            .unwrap()
            .encode();
        for hello in [&first, &again, &next_session] {
            for (secret, name) in [
                (&device_key[..], "device key"),
                (&peer_id[..], "peer id"),
                (&keys.topic()[..], "topic"),
                (&doc_id[..], "document id"),
            ] {
                assert!(!share_a_run(hello, secret), "the hello shows the {name}");
            }
        }
        // Two hellos of one device, of one session or two, share nothing but the
        // header byte: an observer cannot tell they come from the same device.
        for (a, b) in [(&first, &again), (&first, &next_session)] {
            assert_eq!(a[0], b[0]);
            assert!(!share_a_run(&a[1..], &b[1..]), "two hellos share a field");
        }
    }
}

#[test]
fn a_hello_opens_only_with_its_read_key_and_on_its_own_topic() {
    let (keys, _) = DocKeys::generate();
    let (other, _) = DocKeys::generate();
    let hello = LocalSession::start(&DeviceIdentity::generate(), &keys)
        .hello()
        .unwrap();
    assert!(open_hello(&keys.read_only(), &hello, &keys.topic()).is_ok());
    // Another document's member, on its own topic: it cannot even read the hello.
    assert_eq!(
        open_hello(&other, &hello, &other.topic()),
        Err(EnvelopeError::Undecryptable)
    );
    // The right keys, delivered on another topic.
    assert_eq!(
        open_hello(&keys, &hello, &other.topic()),
        Err(EnvelopeError::WrongTopic)
    );
    // The same document id and writer, another read key (a member removed from the
    // document holds the old one).
    let old_read_key = DocKeys::new(
        *keys.doc_id(),
        ReadKey::generate(),
        keys.writer().clone(),
        None,
    )
    .unwrap();
    assert_eq!(
        open_hello(&old_read_key, &hello, &keys.topic()),
        Err(EnvelopeError::Undecryptable)
    );
}

#[test]
fn cut_or_lengthened_hellos_are_refused_with_a_reason() {
    let (keys, _) = DocKeys::generate();
    let bytes = Peer::new(&keys).hello();
    for len in 0..bytes.len() {
        let mut book = SessionBook::new();
        assert!(
            receive(&keys, &mut book, &bytes[..len], &keys.topic()).is_err(),
            "cut to {len} bytes"
        );
        assert!(book.is_empty());
    }
    let mut longer = bytes.clone();
    longer.push(0);
    let mut book = SessionBook::new();
    assert!(receive(&keys, &mut book, &longer, &keys.topic()).is_err());
    let huge = [bytes.clone(), vec![0; 4096]].concat();
    assert!(matches!(
        Hello::decode(&huge),
        Err(EnvelopeError::TooLarge { .. })
    ));
}

#[test]
fn the_wrong_key_cannot_decrypt_and_ciphertext_hides_the_plaintext() {
    let (mut writer, reader) = writer_and_reader();
    let secret = b"the quick brown fox jumps over the lazy dog";
    let envelope = writer.session.seal(1, Kind::Update, secret).unwrap();
    let bytes = envelope.encode();
    assert!(!bytes.windows(secret.len()).any(|w| w == secret));
    assert!(
        !bytes.windows(8).any(|w| secret.windows(8).any(|s| s == w)),
        "no 8-byte run of the plaintext"
    );

    // Same document and writer, different read key: the signature still verifies, the
    // decryption does not.
    let wrong = DocKeys::new(
        *reader.keys.doc_id(),
        ReadKey::generate(),
        reader.keys.writer().clone(),
        None,
    )
    .unwrap();
    assert_eq!(
        open(&wrong, &reader.book, &envelope, &wrong.topic()),
        Err(EnvelopeError::Undecryptable)
    );
    let hello = writer.session.hello().unwrap();
    assert_eq!(
        open_hello(&wrong, &hello, &wrong.topic()),
        Err(EnvelopeError::Undecryptable)
    );
}

#[test]
fn messages_stay_in_their_document() {
    let (mut writer, mut reader) = writer_and_reader();
    let (other_keys, _) = DocKeys::generate();
    let envelope = writer
        .session
        .seal(1, Kind::Update, KEYSTROKE_UPDATE)
        .unwrap();

    // Delivered on another document's topic with that document's keys.
    let mut other = Peer::new(&other_keys);
    assert_eq!(
        other.open_message(&envelope.encode()),
        Err(EnvelopeError::UnknownSession(envelope.hint))
    );
    // The other document's keys cannot even open the hello.
    assert_eq!(
        other.receive(&writer.hello()).unwrap_err(),
        EnvelopeError::Undecryptable
    );
    // A book shared across documents knows the session, but only for its own topic.
    other.book = std::mem::take(&mut reader.book);
    assert_eq!(
        other.open_message(&envelope.encode()),
        Err(EnvelopeError::UnknownSession(envelope.hint))
    );
    // Keys that do not match the topic the message came from.
    assert_eq!(
        open(&other_keys, &other.book, &envelope, &writer.keys.topic()),
        Err(EnvelopeError::WrongTopic)
    );
}

#[test]
fn messages_before_the_hello_are_unknown_until_it_arrives() {
    let (keys, _) = DocKeys::generate();
    let mut writer = Peer::new(&keys);
    let mut late = Peer::new(&keys.read_only());
    let update = writer
        .session
        .seal(1, Kind::Update, KEYSTROKE_UPDATE)
        .unwrap()
        .encode();
    assert!(matches!(
        late.open_message(&update),
        Err(EnvelopeError::UnknownSession(_))
    ));
    late.receive(&writer.hello()).unwrap();
    // A repeated hello is harmless.
    assert!(matches!(
        late.receive(&writer.hello()).unwrap(),
        Received::Session { is_new: false, .. }
    ));
    assert_eq!(
        late.open_message(&update).unwrap().plaintext,
        KEYSTROKE_UPDATE
    );
}

#[test]
fn a_restarted_device_gets_a_new_session_and_fresh_nonces() {
    let (keys, _) = DocKeys::generate();
    let mut first = Peer::new(&keys);
    let identity = first.identity.clone();
    let mut second = LocalSession::start(&identity, &keys);
    assert_ne!(first.session.id(), second.id());
    // Even with the same sequence number and plaintext, ciphertexts differ.
    let a = first
        .session
        .seal(1, Kind::Update, KEYSTROKE_UPDATE)
        .unwrap();
    let b = second.seal(1, Kind::Update, KEYSTROKE_UPDATE).unwrap();
    assert_ne!(a.ciphertext, b.ciphertext);
}

#[test]
fn replay_window_drops_repeated_messages() {
    let (mut writer, mut reader) = writer_and_reader();
    let mut window = ReplayWindow::new();
    let messages: Vec<Vec<u8>> = (1..=3)
        .map(|seq| {
            writer
                .session
                .seal(seq, Kind::Update, b"x")
                .unwrap()
                .encode()
        })
        .collect();
    for bytes in [&messages[1], &messages[0], &messages[2]] {
        let opened = reader.open_message(bytes).unwrap();
        window.accept(opened.seq).unwrap();
    }
    let again = reader.open_message(&messages[0]).unwrap();
    assert_eq!(window.accept(again.seq), Err(ReplayError::Duplicate(1)));
}

#[test]
fn sessions_that_share_a_hint_are_told_apart_by_their_signatures() {
    let (keys, _) = DocKeys::generate();
    let read_only = keys.read_only();
    let mut writer = Peer::new(&keys);
    // A reader whose session has the writer's hint: about 65,000 tries.
    let mut reader = Peer::new(&read_only);
    while reader.session.id().hint() != writer.session.id().hint() {
        reader.session = LocalSession::start(&reader.identity, &read_only);
    }
    assert_ne!(reader.session.id(), writer.session.id());
    let mut observer = Peer::new(&read_only);
    observer.receive(&writer.hello()).unwrap();
    observer.receive(&reader.hello()).unwrap();

    let update = writer
        .session
        .seal(1, Kind::Update, b"from the writer")
        .unwrap();
    let awareness = reader
        .session
        .seal(1, Kind::Awareness, b"from the reader")
        .unwrap();
    let opened = observer.open_message(&update.encode()).unwrap();
    assert_eq!(
        (opened.session, opened.plaintext.as_slice()),
        (writer.session.id(), &b"from the writer"[..])
    );
    let opened = observer.open_message(&awareness.encode()).unwrap();
    assert_eq!(
        (
            opened.session,
            opened.plaintext.as_slice(),
            opened.from_writer
        ),
        (reader.session.id(), &b"from the reader"[..], false)
    );
    // The reader's update, under the shared hint, is still the reader's.
    let forged = reader.session.seal(2, Kind::Update, b"edit").unwrap();
    assert_eq!(
        observer.open_message(&forged.encode()),
        Err(EnvelopeError::NotAWriter)
    );
}

#[test]
fn a_keystroke_update_seals_to_at_most_100_bytes() {
    let (mut writer, _) = writer_and_reader();
    let sealed = writer
        .session
        .seal(1, Kind::Update, KEYSTROKE_UPDATE)
        .unwrap()
        .encode();
    let overhead = sealed.len() - KEYSTROKE_UPDATE.len();
    println!(
        "a {}-byte update seals to {} bytes ({overhead} bytes of overhead)",
        KEYSTROKE_UPDATE.len(),
        sealed.len()
    );
    assert_eq!(sealed.len(), 99);

    for (seq, expected) in [
        (127, 84),
        (128, 85),
        (16_383, 85),
        (2_097_151, 86),
        (u64::MAX, 93),
    ] {
        let sealed = writer
            .session
            .seal(seq, Kind::Update, KEYSTROKE_UPDATE)
            .unwrap();
        let overhead = sealed.encode().len() - KEYSTROKE_UPDATE.len();
        assert_eq!(overhead, expected, "overhead at seq {seq}");
        assert!(overhead <= MAX_MESSAGE_OVERHEAD);
        if seq < 1 << 14 {
            assert!(KEYSTROKE_UPDATE.len() + overhead <= 100, "at seq {seq}");
        }
    }
    let hello = writer.hello();
    println!(
        "a writer's session hello is {} bytes, sent once per session",
        hello.len()
    );
    assert!(hello.len() <= 256);
}

#[test]
fn ticket_joins_the_document_with_the_role_granted() {
    let (keys, doc_id) = DocKeys::generate();
    let addrs = vec!["/dns4/relay.example.org/udp/4001/quic-v1".to_owned()];
    for role in [Role::Read, Role::Write] {
        let granted = if role == Role::Read {
            keys.read_only()
        } else {
            keys.clone()
        };
        let link = Ticket::new(granted, addrs.clone()).unwrap().to_link();
        let ticket: Ticket = link.parse().unwrap();
        assert_eq!(
            (ticket.doc_id(), ticket.role(), ticket.addrs()),
            (&doc_id, role, addrs.as_slice())
        );

        // The joiner can read the document and writes only with the write role.
        let mut owner = Peer::new(&keys);
        let mut joiner = Peer::new(ticket.keys());
        joiner.receive(&owner.hello()).unwrap();
        owner.receive(&joiner.hello()).unwrap();
        let update = owner.session.seal(1, Kind::Update, b"hi").unwrap().encode();
        assert_eq!(joiner.open_message(&update).unwrap().plaintext, b"hi");
        let edit = joiner
            .session
            .seal(1, Kind::Update, b"edit")
            .unwrap()
            .encode();
        let result = owner.open_message(&edit);
        match role {
            Role::Write => assert_eq!(result.unwrap().plaintext, b"edit"),
            Role::Read => assert_eq!(result, Err(EnvelopeError::NotAWriter)),
        }
    }
}

#[test]
fn tickets_report_what_is_wrong() {
    let (keys, _) = DocKeys::generate();
    let link = Ticket::new(keys, vec![]).unwrap().to_link();
    assert_eq!(
        Ticket::parse("https://quire.example/join/abc").unwrap_err(),
        TicketError::NotAQuireLink
    );
    assert_eq!(
        Ticket::parse(&link[..link.len() - 10]).unwrap_err(),
        TicketError::Truncated
    );
    let mut typo = link.clone();
    let middle = link.len() / 2;
    let replacement = if &link[middle..=middle] == "q" {
        "r"
    } else {
        "q"
    };
    typo.replace_range(middle..=middle, replacement);
    assert_eq!(Ticket::parse(&typo).unwrap_err(), TicketError::BadChecksum);
}

proptest! {
    #[test]
    fn random_text_is_never_a_ticket(text in ".{0,600}") {
        prop_assert!(Ticket::parse(&text).is_err());
    }

    #[test]
    fn random_base32_is_never_a_ticket(body in "[a-z2-7]{0,400}", link in any::<bool>()) {
        let text = if link { format!("quire://join/{body}") } else { body };
        prop_assert!(Ticket::parse(&text).is_err());
    }

    #[test]
    fn random_bytes_are_never_a_ticket(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        prop_assert!(Ticket::from_bytes(&bytes).is_err());
    }

    #[test]
    fn any_cut_of_a_ticket_fails(cut in 0usize..1000) {
        let (keys, _) = DocKeys::generate();
        let text = Ticket::new(keys, vec!["/ip4/192.0.2.1/tcp/1".to_owned()]).unwrap().to_text();
        let cut = cut % text.len();
        prop_assert!(Ticket::parse(&text[..cut]).is_err());
    }

    #[test]
    fn random_bytes_are_never_accepted_as_sealed(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let (keys, _) = DocKeys::generate();
        let mut book = SessionBook::new();
        prop_assert!(receive(&keys, &mut book, &bytes, &keys.topic()).is_err());
        let _ = Envelope::decode(&bytes);
        let _ = Hello::decode(&bytes);
    }

    #[test]
    fn random_bodies_behind_valid_headers_are_rejected(seq in any::<u64>(), body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (mut writer, reader) = writer_and_reader();
        let real = writer.session.seal(1, Kind::Update, b"x").unwrap();
        let forged = Envelope { seq, ciphertext: body, ..real };
        let bytes = forged.encode();
        let result = Sealed::decode(&bytes).and_then(|sealed| match sealed {
            Sealed::Message(envelope) => open(&reader.keys, &reader.book, &envelope, &reader.keys.topic()),
            Sealed::Hello(_) => Err(EnvelopeError::Malformed("hello")),
        });
        prop_assert!(result.is_err());
    }
}
