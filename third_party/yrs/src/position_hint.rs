//! Quire's patch: where the last index-based text edit left off.
//!
//! Upstream yrs finds a text index by walking the branch's item list from its first item,
//! so every keystroke in a long document costs a walk over every item before the cursor
//! (Yjs avoids this with its search markers). A branch here remembers one spot: the first
//! unit of an item that the last `insert` or `remove_range` put or found at a known index.
//! The next lookup resolves that spot by its ID (a binary search in the block store, which
//! stays right after items are split or squashed) and walks from there, backwards if the
//! target is before it, instead of from the start.
//!
//! The hint is dropped whenever an item joins or leaves the branch's sequence (see
//! `TransactionMut::integrate_item` and `TransactionMut::delete`), and set again only by
//! the two edits that know the index they worked at. It is used only for UTF-16 offsets
//! (where an item's clock length is its content length) and only in branches that never
//! held formatting items (whose attributes a walk from the start collects).
//!
//! A walk from the hint stops at the same place a walk from the start would: when the
//! target index is exactly at a spot, it first steps left over deleted items, as the walk
//! from the start stops right after the last visible item before the index.
//!
//! With UTF-16 offsets an item's content length is its clock length (`Item::len`), so
//! the hint's index also serves as `ItemPosition::index`, the item units before it.

use crate::block::{ItemContent, ItemPtr, ID};
use crate::block_store::BlockStore;
use crate::branch::BranchPtr;
use crate::doc::OffsetKind;
use crate::types::TypePtr;

/// A spot in a branch's item list with the text length before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PositionHint {
    /// The first unit of an item (which may since have been squashed into a larger item).
    id: ID,
    /// Length of the visible content before `id`, in UTF-16 code units.
    index: u32,
}

/// Where a lookup may start walking: at `item`, with `index` UTF-16 units before it.
pub(crate) struct WalkStart {
    pub item: ItemPtr,
    pub index: u32,
}

/// Remembers that `index` UTF-16 units are before `id`, the first unit of an item in
/// `branch`. Call after the edit's own items are in place.
pub(crate) fn remember(mut branch: BranchPtr, id: ID, index: u32) {
    branch.position_hint = Some(PositionHint { id, index });
}

/// Forgets `branch`'s hint: its sequence changed in a way the hint does not follow.
pub(crate) fn forget(mut branch: BranchPtr) {
    branch.position_hint = None;
}

/// Where a lookup of `target` in `branch` can start, or `None` to walk from the start.
pub(crate) fn walk_start(
    branch: BranchPtr,
    blocks: &BlockStore,
    kind: OffsetKind,
    target: u32,
) -> Option<WalkStart> {
    if branch.has_formatting || kind != OffsetKind::Utf16 {
        return None;
    }
    let hint = branch.position_hint?;
    let mut item = blocks.get_item(&hint.id)?;
    match item.parent {
        TypePtr::Branch(parent) if parent == branch && item.parent_sub.is_none() => {}
        _ => return None,
    }
    let offset = hint.id.clock.checked_sub(item.id.clock)?;
    let mut index = if item.is_deleted() {
        hint.index
    } else {
        hint.index.checked_sub(offset)?
    };
    if index.saturating_sub(target) > target {
        // Nearer the start than the hint: walking from the start visits fewer items.
        return None;
    }
    loop {
        let Some(left) = item.left else { break };
        if index <= target && !left.is_deleted() {
            break;
        }
        if !left.is_deleted() {
            if let ItemContent::Format(_, _) = &left.content {
                return None;
            }
            index = index.checked_sub(left.content_len(kind))?;
        }
        item = left;
    }
    if index > target {
        return None;
    }
    Some(WalkStart { item, index })
}
