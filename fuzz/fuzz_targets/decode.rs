//! One frame of each link type wirelite decodes: the first byte picks the link type, the rest
//! is the frame. The decoded packet is also rendered as the summary line, the detail tree and
//! JSON, and every registered field is extracted, so no output path can be driven into a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelite::decode::{FrameMeta, decode_frame, linktype};
use wirelite::engine::FrameState;
use wirelite::field::{PacketView, Registry};

const LINK_TYPES: [u16; 10] = [
    linktype::ETHERNET,
    linktype::NULL,
    linktype::LOOP,
    linktype::RAW,
    linktype::RAW_OPENBSD,
    linktype::RAW_BSDOS,
    linktype::LINUX_SLL,
    linktype::LINUX_SLL2,
    linktype::IPV4,
    linktype::IPV6,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
    let meta = FrameMeta {
        number: 1,
        ts_ns: Some(1_700_000_000_123_456_789),
        ts_digits: 9,
        caplen: len,
        origlen: len,
        linktype: LINK_TYPES[usize::from(pick) % LINK_TYPES.len()],
        interface_id: 0,
        file_offset: 0,
        kind: wirelite::decode::FrameKind::Packet,
    };
    let rec = decode_frame(meta, frame, 0..frame.len());
    let state = FrameState::default();
    let view = PacketView {
        rec: &rec,
        data: frame,
        state: &state,
    };
    let mut out = String::new();
    wirelite::output::summary::summary_line(&view, &mut out);
    wirelite::output::detail::render(&view, &mut out);
    let json = serde_json::Value::Object(wirelite::output::json::packet_layers(&view));
    serde_json::to_string(&json).expect("JSON serialises");
    let reg = Registry::get();
    for (id, _) in reg.iter() {
        reg.extract(id, &view, &mut |v| out.push_str(&format!("{v:?}")));
    }
});
