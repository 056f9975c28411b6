//! The counting fast path (`list -Y F --count` with a filter over packet fields only) filters on
//! the decode pool with an empty ordered-stage state. That is right only if every field
//! `cli::needs_ordered` leaves out reads the same values without the state: checked here on
//! every frame of every capture, with every part of the ordered stage turned on.

use wirelite::capture::Reader;
use wirelite::engine::{self, FrameState, MatchAll, Options, Sink};
use wirelite::field::{FieldId, PacketView, Registry};

use crate::support;

struct Compare {
    fields: Vec<FieldId>,
    /// (frame, field, with the state, without)
    differences: Vec<String>,
    frames: u64,
}

fn values(id: FieldId, view: &PacketView<'_>) -> Vec<String> {
    let mut out = Vec::new();
    Registry::get().extract(id, view, &mut |v| out.push(format!("{v:?}")));
    out
}

impl Sink for Compare {
    fn packet(&mut self, view: &PacketView<'_>) -> std::io::Result<()> {
        // IP fragments always go through the ordered stage (reassembly); the fast path keeps them.
        if wirelite::decode::fragment_of(view.rec, view.frame_bytes()).is_some() {
            return Ok(());
        }
        self.frames += 1;
        let empty = FrameState::default();
        let bare = PacketView {
            rec: view.rec,
            data: view.data,
            state: &empty,
        };
        for &id in &self.fields {
            let (with, without) = (values(id, view), values(id, &bare));
            if with != without && self.differences.len() < 20 {
                self.differences.push(format!(
                    "frame {} {}: {with:?} with the ordered stage, {without:?} without",
                    view.rec.meta.number,
                    Registry::get().def(id).abbrev
                ));
            }
        }
        Ok(())
    }
}

#[test]
fn fields_outside_the_ordered_stage_do_not_read_it() {
    let fields: Vec<FieldId> = Registry::get()
        .iter()
        .map(|(id, _)| id)
        .filter(|&id| !wirelite::cli::needs_ordered(id))
        .collect();
    assert!(fields.len() > 100, "only {} packet fields", fields.len());
    let mut sink = Compare {
        fields,
        differences: Vec::new(),
        frames: 0,
    };
    for cap in support::captures() {
        let path = support::capture_path(&cap);
        let Ok(reader) = Reader::open(path.to_str().unwrap_or_default()) else {
            continue;
        };
        let opts = Options {
            http: true,
            udp_streams: true,
            ..Options::default()
        };
        engine::run(reader, &opts, &MatchAll, &mut sink, &mut |_, _| {}).unwrap();
        assert!(
            sink.differences.is_empty(),
            "{cap}: fields outside cli::needs_ordered read the ordered stage:\n{}",
            sink.differences.join("\n")
        );
    }
    assert!(sink.frames > 5_000, "only {} frames compared", sink.frames);
}
