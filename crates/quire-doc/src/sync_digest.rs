//! A document's *sync digest*: a short keyed hash of what a replica holds, so two
//! replicas can tell in 32 bytes whether a catch-up between them has anything to
//! carry (see `quire-node`'s summary exchange).
//!
//! The hash covers a canonical encoding of the replica's state: the state vector
//! (client ids ascending, each with its clock) and the delete set (client ids
//! ascending, each with its deleted clock ranges merged and sorted). Two replicas
//! that integrated the same updates, in whatever order, encode the same bytes, and
//! any insertion or deletion one has and the other lacks changes them. Pending
//! updates (waiting for missing dependencies) are not part of the state: a replica
//! holding one still lacks what it depends on, which its state vector shows.
//!
//! The hash is keyed (blake3 keyed mode) with a key the caller derives from the
//! document's read key, so only members can compute or compare it: it is no public
//! fingerprint of the document.

use yrs::{ReadTxn, Transact};

use crate::Document;

/// Bytes of a [`SyncDigest`] and of the key it is computed with.
pub const SYNC_DIGEST_BYTES: usize = 32;

/// A keyed hash of a replica's state vector and delete set.
pub type SyncDigest = [u8; SYNC_DIGEST_BYTES];

/// Domain separation inside the keyed hash (a later encoding takes a new tag).
const ENCODING_TAG: &[u8] = b"quire sync digest v1";

impl Document {
    /// The document's sync digest under `key`, from the cache when nothing changed
    /// since it was last computed with that key (every edit and applied update clears
    /// it), so asking for thousands of unchanged documents' digests re-encodes none.
    pub fn sync_digest(&mut self, key: &[u8; SYNC_DIGEST_BYTES]) -> SyncDigest {
        if let Some((cached_key, digest)) = &self.digest_cache
            && cached_key == key
        {
            return *digest;
        }
        let digest = self.compute_sync_digest(key);
        self.digest_cache = Some((*key, digest));
        digest
    }

    fn compute_sync_digest(&self, key: &[u8; SYNC_DIGEST_BYTES]) -> SyncDigest {
        let txn = self.doc.transact();
        let snapshot = txn.snapshot();
        let mut hasher = blake3::Hasher::new_keyed(key);
        hasher.update(ENCODING_TAG);
        let mut clients: Vec<(u64, u32)> = snapshot
            .state_map
            .iter()
            .map(|(client, clock)| (client.get(), *clock))
            .filter(|(_, clock)| *clock > 0)
            .collect();
        clients.sort_unstable();
        hasher.update(&(clients.len() as u64).to_le_bytes());
        for (client, clock) in clients {
            hasher.update(&client.to_le_bytes());
            hasher.update(&clock.to_le_bytes());
        }
        // The delete set is a map ordered by client id whose ranges are merged and
        // sorted on insert; sorting again costs little and makes the order ours.
        let mut deletes: Vec<(u64, Vec<(u32, u32)>)> = snapshot
            .delete_set
            .iter()
            .map(|(client, ranges)| {
                let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
                let mut sorted: Vec<(u32, u32)> = ranges.iter().map(|r| (r.start, r.end)).collect();
                sorted.sort_unstable();
                for (start, end) in sorted {
                    match merged.last_mut() {
                        Some(last) if start <= last.1 => last.1 = last.1.max(end),
                        _ => merged.push((start, end)),
                    }
                }
                (client.get(), merged)
            })
            .filter(|(_, ranges)| !ranges.is_empty())
            .collect();
        deletes.sort_unstable();
        hasher.update(&(deletes.len() as u64).to_le_bytes());
        for (client, ranges) in deletes {
            hasher.update(&client.to_le_bytes());
            hasher.update(&(ranges.len() as u64).to_le_bytes());
            for (start, end) in ranges {
                hasher.update(&start.to_le_bytes());
                hasher.update(&end.to_le_bytes());
            }
        }
        *hasher.finalize().as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    /// Two writers' updates, and a third replica's copies of them.
    fn two_writers() -> (Vec<u8>, Vec<u8>) {
        let mut a = Document::with_client_id(1);
        let first = a.insert(0, "hello ").unwrap().unwrap();
        let mut b = Document::with_client_id(2);
        b.apply_update(&first).unwrap();
        let second = b.insert(6, "world").unwrap().unwrap();
        (first, second)
    }

    #[test]
    fn equal_state_gives_equal_digests_whatever_the_order_updates_came_in() {
        let (first, second) = two_writers();
        let mut in_order = Document::with_client_id(10);
        in_order.apply_update(&first).unwrap();
        in_order.apply_update(&second).unwrap();
        // The second depends on the first: applied first, it waits as pending.
        let mut reversed = Document::with_client_id(11);
        reversed.apply_update(&second).unwrap();
        let waiting = reversed.sync_digest(&KEY);
        reversed.apply_update(&first).unwrap();
        assert_eq!(in_order.text(), reversed.text());
        assert_eq!(in_order.sync_digest(&KEY), reversed.sync_digest(&KEY));
        assert_ne!(waiting, reversed.sync_digest(&KEY), "the cache was cleared");
        // Only one of them: not equal.
        let mut half = Document::with_client_id(12);
        half.apply_update(&first).unwrap();
        assert_ne!(half.sync_digest(&KEY), in_order.sync_digest(&KEY));
    }

    #[test]
    fn a_delete_alone_changes_the_digest() {
        let (first, second) = two_writers();
        let mut writer = Document::with_client_id(3);
        writer.apply_update(&first).unwrap();
        writer.apply_update(&second).unwrap();
        let mut other = Document::with_client_id(4);
        other.apply_update(&first).unwrap();
        other.apply_update(&second).unwrap();
        let before = writer.sync_digest(&KEY);
        assert_eq!(before, other.sync_digest(&KEY));
        let state_vector = writer.state_vector();
        // Deletes move no clock: the state vector is the same, the digest is not.
        let deletion = writer.delete(0, 6).unwrap().unwrap();
        assert_eq!(writer.state_vector(), state_vector);
        assert_ne!(writer.sync_digest(&KEY), before);
        other.apply_update(&deletion).unwrap();
        assert_eq!(writer.sync_digest(&KEY), other.sync_digest(&KEY));
        // Deleting in two steps or one ends in the same merged ranges.
        let mut steps = Document::with_client_id(5);
        steps.apply_update(&first).unwrap();
        steps.apply_update(&second).unwrap();
        let part = steps.delete(0, 3).unwrap().unwrap();
        let rest = steps.delete(0, 3).unwrap().unwrap();
        let mut merged = Document::with_client_id(6);
        merged.apply_update(&first).unwrap();
        merged.apply_update(&second).unwrap();
        merged.apply_update(&rest).unwrap();
        merged.apply_update(&part).unwrap();
        assert_eq!(steps.sync_digest(&KEY), merged.sync_digest(&KEY));
    }

    #[test]
    fn another_key_gives_another_digest() {
        let (first, _) = two_writers();
        let mut doc = Document::with_client_id(7);
        doc.apply_update(&first).unwrap();
        let ours = doc.sync_digest(&KEY);
        assert_ne!(doc.sync_digest(&[8; 32]), ours);
        assert_eq!(doc.sync_digest(&KEY), ours);
    }

    #[test]
    fn a_local_edit_clears_the_cached_digest() {
        let mut doc = Document::with_client_id(9);
        let empty = doc.sync_digest(&KEY);
        doc.insert(0, "x").unwrap();
        let typed = doc.sync_digest(&KEY);
        assert_ne!(typed, empty);
        doc.set_title("A title").unwrap();
        assert_ne!(doc.sync_digest(&KEY), typed);
    }
}
