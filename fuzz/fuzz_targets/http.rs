//! The HTTP/1.x parser on one direction of a stream cut into arbitrary pieces: the first byte
//! seeds the cut points. Whatever it reads, each message's head and body lengths must fit in
//! the bytes fed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelite::wire::http1::Direction;

fuzz_target!(|data: &[u8]| {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    let mut dir = Direction::default();
    let mut last_method = None;
    let mut out = Vec::new();
    let mut rest = stream;
    let mut cut = usize::from(seed) + 1;
    let mut i = 0;
    while !rest.is_empty() {
        let n = cut.min(rest.len());
        let (piece, tail) = rest.split_at(n);
        if seed & 0x80 != 0 && i % 5 == 4 {
            dir.gap(); // a hole in the stream, as after lost segments
        } else {
            dir.feed(piece, &mut last_method, &mut out);
        }
        rest = tail;
        cut = (cut * 7 + 3) % 97 + 1;
        i += 1;
    }
    dir.end(&mut out);
    let total: u64 = out.iter().map(|m| m.head_len + m.body_len).sum();
    assert!(
        total <= stream.len() as u64,
        "{total} bytes of messages from {}",
        stream.len()
    );
});
