//! Replays every input in `fuzz/crashers/`: each once crashed or misled the update
//! path and must now be rejected with an error, leaving the document as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use quire_doc::Document;

#[test]
fn every_known_crasher_is_rejected_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/crashers");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/crashers exists") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let mut doc = Document::with_client_id(1);
        doc.insert(0, "# Title\nsome text 😀 here\n").unwrap();
        let (text, sv) = (doc.text(), doc.state_vector());
        let result = doc.apply_update(&bytes);
        assert!(result.is_err(), "{} was accepted", path.display());
        if !doc.is_poisoned() {
            assert_eq!(doc.text(), text, "{} changed the text", path.display());
            assert_eq!(
                doc.state_vector(),
                sv,
                "{} changed the state",
                path.display()
            );
        }
        // Crashers of the state-vector decoder must be rejected there too; any
        // other input must at least not panic when read as a state vector.
        let as_sv = Document::with_client_id(2).diff_since(&bytes);
        if path.to_string_lossy().contains("state-vector") {
            assert!(
                as_sv.is_err(),
                "{} was accepted as a state vector",
                path.display()
            );
        }
        replayed += 1;
    }
    assert!(replayed > 0, "no crashers found in {}", dir.display());
}
