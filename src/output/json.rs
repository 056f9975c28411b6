//! `-T json` (an array, as tshark) and `-T ndjson` (one object per line, for jq and scripts).
//! Each packet is `{"_index", "_type", "_score", "_source": {"layers": {...}}}` like tshark's, with
//! one object per protocol layer keyed by Wireshark field names and values as strings. Where
//! tshark repeats a key (a second `ip` layer inside an ICMP error, several DNS answers), wirelite
//! writes one key with an array, so no value is lost to duplicate keys. With `-e`, only the named
//! fields, each an array, as tshark does.

use std::io::{self, Write};

use serde_json::{Map, Value as Json, json};

use crate::engine::Sink;
use crate::field::{FieldId, PacketView, ProtoTag, Registry, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonStyle {
    /// One JSON array holding every packet.
    Array,
    /// One packet object per line.
    Lines,
}

#[derive(Debug)]
pub struct JsonSink<W: Write> {
    out: W,
    style: JsonStyle,
    only: Vec<(String, FieldId)>,
    count: u64,
}

impl<W: Write> JsonSink<W> {
    pub fn new(out: W, style: JsonStyle, only: Vec<(String, FieldId)>) -> Self {
        JsonSink {
            out,
            style,
            only,
            count: 0,
        }
    }
}

/// Add `value` under `key`; a repeated key turns into an array of every value. Values given to
/// it are strings or objects, so an array under a key always means "repeated".
fn insert(map: &mut Map<String, Json>, key: &str, value: Json) {
    match map.get_mut(key) {
        None => {
            map.insert(key.to_string(), value);
        }
        Some(Json::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Json::Array(vec![first, value]);
        }
    }
}

/// The layers object of one packet: one entry per protocol layer.
pub fn packet_layers(view: &PacketView<'_>) -> Map<String, Json> {
    let reg = Registry::get();
    let mut layers = Map::new();
    let mut frame = Map::new();
    for (id, def) in reg.fields_of(ProtoTag::Frame) {
        reg.extract(id, view, &mut |v: Value<'_>| {
            insert(
                &mut frame,
                def.abbrev,
                Json::String(v.to_tshark(def.display)),
            )
        });
    }
    layers.insert("frame".into(), Json::Object(frame));
    for (layer, tag, first) in reg.layers(view) {
        let mut obj = Map::new();
        for (id, def) in reg.fields_of(tag) {
            reg.extract_in_layer(id, layer, first, view, &mut |v: Value<'_>| {
                insert(&mut obj, def.abbrev, Json::String(v.to_tshark(def.display)))
            });
        }
        insert(&mut layers, tag.abbrev(), Json::Object(obj));
    }
    for msg in &view.state.http {
        let mut obj = Map::new();
        for (id, def) in reg.fields_of(ProtoTag::Http) {
            reg.extract_in_message(id, msg, view, &mut |v: Value<'_>| {
                insert(&mut obj, def.abbrev, Json::String(v.to_tshark(def.display)))
            });
        }
        insert(&mut layers, ProtoTag::Http.abbrev(), Json::Object(obj));
    }
    layers
}

impl<W: Write + Send> Sink for JsonSink<W> {
    fn packet(&mut self, view: &PacketView<'_>) -> io::Result<()> {
        let layers = if self.only.is_empty() {
            packet_layers(view)
        } else {
            let mut m = Map::new();
            for (name, id) in &self.only {
                let vals = super::fields::field_strings(view, *id);
                if !vals.is_empty() {
                    m.insert(name.clone(), json!(vals));
                }
            }
            m
        };
        let obj = json!({
            "_index": "packets",
            "_type": "doc",
            "_score": null,
            "_source": { "layers": layers },
        });
        match self.style {
            JsonStyle::Array => {
                self.out
                    .write_all(if self.count == 0 { b"[\n" } else { b",\n" })?;
                serde_json::to_writer_pretty(&mut self.out, &obj)?;
            }
            JsonStyle::Lines => {
                serde_json::to_writer(&mut self.out, &obj)?;
                self.out.write_all(b"\n")?;
            }
        }
        self.count += 1;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.style == JsonStyle::Array {
            self.out
                .write_all(if self.count == 0 { b"[\n]\n" } else { b"\n]\n" })?;
        }
        self.out.flush()
    }
}
