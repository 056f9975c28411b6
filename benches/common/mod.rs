//! What the benches share: a capture of the repository, read in one batch and decoded.

use std::path::Path;

use wirelite::capture::Reader;
use wirelite::decode::{PacketRecord, decode_frame};

/// The path of a file of the repository, as the reader takes it.
pub fn path(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(relative)
        .to_string_lossy()
        .into_owned()
}

/// Every frame of the capture at `relative`: the batch's bytes and the decoded records.
pub fn decoded(relative: &str) -> (Vec<u8>, Vec<PacketRecord>) {
    let mut reader = Reader::open(&path(relative)).unwrap();
    let batch = reader.next_batch(usize::MAX, usize::MAX).unwrap();
    let recs = batch
        .frames
        .iter()
        .map(|(m, r)| decode_frame(m.clone(), &batch.arena[r.clone()], r.clone()))
        .collect();
    (batch.arena, recs)
}
