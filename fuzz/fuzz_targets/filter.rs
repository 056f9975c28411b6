//! The display-filter compiler on arbitrary text; a filter that compiles is explained and run
//! over the frames of a real capture (the mixed lab sample), which must not panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wirelite::decode::PacketRecord;
use wirelite::engine::FrameState;
use wirelite::field::PacketView;
use wirelite::filter::Filter;

const CAPTURE: &[u8] = include_bytes!("../../samples/lab-mixed.pcapng");

/// The sample's frames, decoded once.
fn frames() -> &'static (Vec<u8>, Vec<PacketRecord>) {
    static FRAMES: OnceLock<(Vec<u8>, Vec<PacketRecord>)> = OnceLock::new();
    FRAMES.get_or_init(|| {
        let input = Box::new(std::io::Cursor::new(CAPTURE.to_vec()));
        let mut reader = wirelite::capture::Reader::from_read("lab-mixed.pcapng", input)
            .expect("the sample is a capture");
        let mut arena = Vec::new();
        let mut records = Vec::new();
        while let Some(batch) = reader.next_batch(1024, 1 << 20) {
            for (meta, range) in &batch.frames {
                let bytes = &batch.arena[range.clone()];
                let at = arena.len();
                arena.extend_from_slice(bytes);
                records.push(wirelite::decode::decode_frame(
                    meta.clone(),
                    bytes,
                    at..arena.len(),
                ));
            }
        }
        (arena, records)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let filter = match Filter::compile(text) {
        Ok(f) => f,
        Err(e) => {
            // The message with its caret under the offending part of the text.
            let _ = e.render(text);
            return;
        }
    };
    let _ = filter.explain();
    let (arena, records) = frames();
    let state = FrameState::default();
    for rec in records {
        let view = PacketView {
            rec,
            data: &arena[rec.data.clone()],
            state: &state,
        };
        let _ = filter.matches(&view);
    }
});
