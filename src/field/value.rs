//! Field values and their types, and tshark's text form of each (`-T fields`, Wireshark 4.0).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The type of a field, as Wireshark's FT_* types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// FT_NONE: present or absent, no value (e.g. `tcp.analysis.retransmission`).
    None,
    /// FT_PROTOCOL: a protocol; its value is the bytes it spans.
    Protocol,
    Bool,
    /// Unsigned integers, with their width in bits (for hex display and range checks).
    Uint(u8),
    Int(u8),
    /// FT_FRAMENUM.
    FrameNum,
    Ipv4,
    Ipv6,
    Ether,
    String,
    Bytes,
    /// FT_ABSOLUTE_TIME, shown as epoch seconds.
    AbsTime,
    /// FT_RELATIVE_TIME, seconds.
    RelTime,
    Double,
}

impl FieldType {
    /// Wireshark's name for the type, used in messages.
    pub fn describe(self) -> String {
        match self {
            FieldType::None => "Label".into(),
            FieldType::Protocol => "Protocol".into(),
            FieldType::Bool => "Boolean".into(),
            FieldType::Uint(bits) => format!("Unsigned integer ({} bytes)", bits.div_ceil(8)),
            FieldType::Int(bits) => format!("Signed integer ({} bytes)", bits.div_ceil(8)),
            FieldType::FrameNum => "Frame number".into(),
            FieldType::Ipv4 => "IPv4 address".into(),
            FieldType::Ipv6 => "IPv6 address".into(),
            FieldType::Ether => "Ethernet or other MAC address".into(),
            FieldType::String => "Character string".into(),
            FieldType::Bytes => "Byte sequence".into(),
            FieldType::AbsTime => "Date and time".into(),
            FieldType::RelTime => "Time offset".into(),
            FieldType::Double => "Floating point (double-precision)".into(),
        }
    }
}

/// How an integer is shown: decimal, or hex zero-padded to `digits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    Dec,
    Hex(u8),
}

/// One value of a field.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// Presence of an FT_NONE field.
    Present,
    Bool(bool),
    Uint(u64),
    Int(i64),
    Ipv4([u8; 4]),
    Ipv6([u8; 16]),
    Ether([u8; 6]),
    Str(Cow<'a, str>),
    Bytes(&'a [u8]),
    /// Nanoseconds since the epoch.
    AbsTime(i64),
    /// Nanoseconds.
    RelTime(i64),
    Double(f64),
}

impl Value<'_> {
    /// Append the value as tshark 4.0 prints it with `-T fields`.
    pub fn write_tshark(&self, display: Display, out: &mut String) {
        match self {
            Value::Present => out.push('1'),
            Value::Bool(b) => out.push(if *b { '1' } else { '0' }),
            Value::Uint(v) => match display {
                Display::Dec => {
                    let _ = write!(out, "{v}");
                }
                Display::Hex(digits) => {
                    let _ = write!(out, "0x{v:0width$x}", width = usize::from(digits));
                }
            },
            Value::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Ipv4(a) => {
                let _ = write!(out, "{}", Ipv4Addr::from(*a));
            }
            Value::Ipv6(a) => {
                let _ = write!(out, "{}", Ipv6Addr::from(*a));
            }
            Value::Ether(m) => write_mac(m, out),
            Value::Str(s) => out.push_str(s),
            Value::Bytes(b) => {
                for x in *b {
                    let _ = write!(out, "{x:02x}");
                }
            }
            Value::AbsTime(ns) | Value::RelTime(ns) => write_secs(*ns, out),
            Value::Double(d) => {
                let _ = write!(out, "{d}");
            }
        }
    }

    pub fn to_tshark(&self, display: Display) -> String {
        let mut s = String::new();
        self.write_tshark(display, &mut s);
        s
    }
}

pub fn write_mac(m: &[u8], out: &mut String) {
    for (i, b) in m.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{b:02x}");
    }
}

/// Seconds with 9 decimals, as tshark prints times (`1362692526.869344000`, `-0.000001000`).
pub fn write_secs(ns: i64, out: &mut String) {
    let sign = if ns < 0 { "-" } else { "" };
    let abs = ns.unsigned_abs();
    let _ = write!(
        out,
        "{sign}{}.{:09}",
        abs / 1_000_000_000,
        abs % 1_000_000_000
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tshark_formats() {
        assert_eq!(Value::Uint(0x800).to_tshark(Display::Hex(4)), "0x0800");
        assert_eq!(Value::Uint(0x12).to_tshark(Display::Hex(4)), "0x0012");
        assert_eq!(Value::Bool(true).to_tshark(Display::Dec), "1");
        assert_eq!(
            Value::AbsTime(1_362_692_526_869_344_000).to_tshark(Display::Dec),
            "1362692526.869344000"
        );
        assert_eq!(
            Value::RelTime(-1000).to_tshark(Display::Dec),
            "-0.000001000"
        );
        assert_eq!(
            Value::Ipv6([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
                .to_tshark(Display::Dec),
            "2001:db8::1"
        );
        assert_eq!(
            Value::Ether([0, 0x1a, 0x6b, 0x6c, 0x0c, 0xcc]).to_tshark(Display::Dec),
            "00:1a:6b:6c:0c:cc"
        );
    }
}
