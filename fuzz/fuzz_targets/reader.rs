//! The capture reader on arbitrary bytes (pcap, pcapng, gzip, anything): every frame it yields is
//! decoded, and the reader must end, with or without an error, within its bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelite::capture::Reader;

fuzz_target!(|data: &[u8]| {
    let input = Box::new(std::io::Cursor::new(data.to_vec()));
    let Ok(mut reader) = Reader::from_read("fuzz", input) else {
        return;
    };
    // Small batches so that records are split across batch boundaries, as on big captures.
    let mut frames = 0u64;
    while let Some(batch) = reader.next_batch(7, 4096) {
        for (meta, range) in &batch.frames {
            let bytes = batch
                .arena
                .get(range.clone())
                .expect("frame ranges lie in the arena");
            let rec = wirelite::decode::decode_frame(meta.clone(), bytes, range.clone());
            // Frame numbers only grow (pcapng blocks without packets take numbers, as in tshark).
            assert!(
                rec.meta.number > frames,
                "frame {} after {frames}",
                rec.meta.number
            );
            frames = rec.meta.number;
        }
    }
    let _ = reader.take_error();
});
