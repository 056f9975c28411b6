//! The floor for the benchmarks in BENCHMARKS.md: the least work any capture reader must do. One
//! thread reads a classic pcap file in 1 MiB chunks, walks the record headers and parses
//! Ethernet / IPv4 / TCP-UDP ports by hand, counting frames whose source or destination port is
//! the one given. No error reporting, no other link types, no pcapng: not a tool, a yardstick.
//!
//!     cargo run --release --example header_walk -- FILE.pcap [PORT]

use std::io::Read;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: header_walk FILE.pcap [PORT]");
    let port: u16 = args
        .next()
        .map_or(80, |p| p.parse().expect("PORT is a number"));
    let mut file = std::fs::File::open(path)?;
    file.read_exact(&mut [0u8; 24])?; // the file header
    let mut buf = vec![0u8; 1 << 20];
    let (mut have, mut at) = (0usize, 0usize);
    let (mut frames, mut matched) = (0u64, 0u64);
    loop {
        // Walk every whole record in the buffer.
        while let Some(hdr) = buf.get(at..at + 16) {
            let caplen = u32::from_le_bytes([hdr[8], hdr[9], hdr[10], hdr[11]]) as usize;
            let Some(frame) = buf
                .get(at + 16..at + 16 + caplen)
                .filter(|_| at + 16 + caplen <= have)
            else {
                break;
            };
            frames += 1;
            if frame.len() >= 38 && frame[12..14] == [0x08, 0x00] && matches!(frame[23], 6 | 17) {
                let ihl = usize::from(frame[14] & 0x0f) * 4;
                if let Some(p) = frame.get(14 + ihl..14 + ihl + 4) {
                    let (s, d) = (
                        u16::from_be_bytes([p[0], p[1]]),
                        u16::from_be_bytes([p[2], p[3]]),
                    );
                    matched += u64::from(s == port || d == port);
                }
            }
            at += 16 + caplen;
        }
        // Keep the partial record, refill behind it.
        buf.copy_within(at..have, 0);
        have -= at;
        at = 0;
        if have == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = file.read(&mut buf[have..])?;
        if n == 0 {
            break;
        }
        have += n;
    }
    println!("{frames} frames, {matched} with port {port}");
    Ok(())
}
