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
        // Folders and README files are not inputs.
        if path.is_dir() || path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        // The same document the fuzz target starts from.
        let mut doc = Document::with_client_id(1);
        doc.insert(0, "# Title\nsome text 😀 here\n").unwrap();
        doc.set_title("Fuzz").unwrap();
        doc.delete(3, 4).unwrap();
        let mut peer = Document::with_client_id(2);
        doc.apply_update(&peer.insert(0, "peer text").unwrap().unwrap())
            .unwrap();
        let (text, sv) = (doc.text(), doc.state_vector());
        let result = doc.apply_update(&bytes);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // Inputs known to be invalid must be rejected; the others (found because
        // something after them misbehaved) must at least not panic.
        if name.starts_with("oom-")
            || name.starts_with("panic-")
            || name.starts_with("use-after-free-")
            // yrs alone accepts it and then cannot encode its blocks; here it is
            // refused before it is applied (a number too large while decoding).
            || name == "accepted-then-diff-panics"
        {
            assert!(result.is_err(), "{} was accepted", path.display());
        }
        if result.is_err() && !doc.is_poisoned() {
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
        // Whatever was accepted, serving and saving the document must not panic (yrs
        // can still be left unable to encode it: then these are errors, and the engine
        // keeps its update log instead of compacting).
        if !doc.is_poisoned() {
            let _ = doc.diff_since(&bytes);
            let _ = doc.diff_since(&doc.state_vector());
            let _ = doc.encode_state();
            let _ = doc.text();
        }
        replayed += 1;
    }
    assert!(replayed > 0, "no crashers found in {}", dir.display());
}
