//! Merging several updates into one, for sending a burst of local transactions as
//! one message.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::DocError;

/// Merges yrs v1 updates into one that has the effect of applying them all.
pub fn merge_updates(updates: &[&[u8]]) -> Result<Vec<u8>, DocError> {
    match updates {
        [] => Ok(Vec::new()),
        [one] => Ok(one.to_vec()),
        many => catch_unwind(AssertUnwindSafe(|| {
            yrs::merge_updates_v1(many.iter().copied())
        }))
        .map_err(|_| DocError::EncodePanicked)?
        .map_err(|e| DocError::MalformedUpdate(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Document;

    #[test]
    fn merged_updates_apply_like_the_originals() {
        let mut a = Document::new();
        let mut updates = Vec::new();
        for t in ["one ", "two ", "🎈"] {
            let at = a.len_chars();
            updates.push(a.insert(at, t).unwrap().unwrap());
        }
        let merged = merge_updates(&updates.iter().map(Vec::as_slice).collect::<Vec<_>>()).unwrap();
        let mut b = Document::new();
        b.apply_update(&merged).unwrap();
        assert_eq!(b.text(), "one two 🎈");
    }
}
