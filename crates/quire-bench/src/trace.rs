//! Editing traces: the JSON format of the public editing-traces collection.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

/// One recorded editing session.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Trace {
    /// Text before the first transaction.
    pub(crate) start_content: String,
    /// Text after the last transaction.
    pub(crate) end_content: String,
    /// The transactions, in order.
    pub(crate) txns: Vec<TraceTxn>,
}

/// One transaction: patches applied in order.
#[derive(Debug, Deserialize)]
pub(crate) struct TraceTxn {
    /// `[position, deleted characters, inserted text]`, positions in characters.
    pub(crate) patches: Vec<(usize, usize, String)>,
}

impl Trace {
    /// Reads a `.json.gz` trace.
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut json = String::new();
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut json)
            .with_context(|| format!("decompressing {}", path.display()))?;
        serde_json::from_str(&json).with_context(|| format!("parsing {}", path.display()))
    }
}
