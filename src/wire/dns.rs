//! DNS messages (RFC 1035 §4): header, questions and resource records, decoded eagerly into a
//! bounded owned form. Pure: knows nothing of flows or output.
//!
//! Names are walked by a loop, never by recursion. Compression pointers (RFC 1035 §4.1.4) must
//! point strictly before the label that holds them, at most [`MAX_NAME_HOPS`] jumps are followed,
//! and a name stops growing at [`MAX_NAME_LEN`] bytes; each of these is a malformation, not a panic.
//! Bytes outside printable ASCII in labels are kept and escaped on display (`\xNN`).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

/// RFC 1035 §2.3.4: names are 255 octets at most on the wire.
pub const MAX_NAME_LEN: usize = 255;
/// A 255-byte name has at most 127 labels, so more jumps than that must be a loop.
pub const MAX_NAME_HOPS: usize = 127;
/// RFC 1035 §4.1.1: the fixed header is 12 bytes.
pub const HEADER_LEN: usize = 12;

/// Whether a UDP datagram or TCP connection between these ports carries DNS: either is 53, as
/// Wireshark's default port table has it.
pub fn is_dns_port(a: u16, b: u16) -> bool {
    a == 53 || b == 53
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsMessage {
    pub id: u16,
    pub flags: u16,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
    pub questions: Vec<Question>,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub additional: Vec<Record>,
    /// Why decoding stopped early, if it did.
    pub malformed: Option<&'static str>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdlength: u16,
    pub data: RData,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RData {
    A([u8; 4]),
    Aaaa([u8; 16]),
    /// CNAME, NS, PTR (and other single-name records).
    Name(String),
    Mx {
        preference: u16,
        exchange: String,
    },
    Txt(Vec<String>),
    Soa {
        mname: String,
        rname: String,
        serial: u32,
        refresh: u32,
        retry: u32,
        expire: u32,
        minimum: u32,
    },
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    /// Record data this decoder does not interpret.
    Other,
    /// The record data did not fit its type.
    Bad,
}

pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const PTR: u16 = 12;
    pub const MX: u16 = 15;
    pub const TXT: u16 = 16;
    pub const AAAA: u16 = 28;
    pub const SRV: u16 = 33;
}

impl DnsMessage {
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    pub fn opcode(&self) -> u16 {
        (self.flags >> 11) & 0xf
    }
    pub fn rcode(&self) -> u16 {
        self.flags & 0xf
    }
    /// All resource records in message order: answers, authority, additional.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.answers
            .iter()
            .chain(self.authority.iter())
            .chain(self.additional.iter())
    }
}

/// Decode a DNS message. Returns `None` when even the 12-byte header is missing; otherwise the
/// message decoded as far as the bytes allow, with `malformed` saying where it stopped.
pub fn parse(msg: &[u8]) -> Option<DnsMessage> {
    let &[i0, i1, f0, f1, q0, q1, a0, a1, n0, n1, r0, r1] = msg.first_chunk::<HEADER_LEN>()?;
    let be = u16::from_be_bytes;
    let mut m = DnsMessage {
        id: be([i0, i1]),
        flags: be([f0, f1]),
        qdcount: be([q0, q1]),
        ancount: be([a0, a1]),
        nscount: be([n0, n1]),
        arcount: be([r0, r1]),
        questions: Vec::new(),
        answers: Vec::new(),
        authority: Vec::new(),
        additional: Vec::new(),
        malformed: None,
    };
    let mut pos = HEADER_LEN;
    // Each question takes at least 5 bytes and each record at least 11, so the loops below are
    // bounded by the message length whatever the counts claim.
    for _ in 0..m.qdcount {
        match parse_question(msg, pos) {
            Ok((q, next)) => {
                m.questions.push(q);
                pos = next;
            }
            Err(e) => {
                m.malformed = Some(e);
                return Some(m);
            }
        }
    }
    let sections = [m.ancount, m.nscount, m.arcount];
    for (section, count) in sections.into_iter().enumerate() {
        for _ in 0..count {
            match parse_record(msg, pos) {
                Ok((r, next)) => {
                    pos = next;
                    match section {
                        0 => m.answers.push(r),
                        1 => m.authority.push(r),
                        _ => m.additional.push(r),
                    }
                }
                Err(e) => {
                    m.malformed = Some(e);
                    return Some(m);
                }
            }
        }
    }
    Some(m)
}

fn be16(msg: &[u8], pos: usize) -> Result<u16, &'static str> {
    msg.get(pos..)
        .and_then(|s| s.first_chunk::<2>())
        .map(|b| u16::from_be_bytes(*b))
        .ok_or("message ends inside a fixed field")
}

fn be32(msg: &[u8], pos: usize) -> Result<u32, &'static str> {
    msg.get(pos..)
        .and_then(|s| s.first_chunk::<4>())
        .map(|b| u32::from_be_bytes(*b))
        .ok_or("message ends inside a fixed field")
}

fn parse_question(msg: &[u8], pos: usize) -> Result<(Question, usize), &'static str> {
    let (name, pos) = read_name(msg, pos)?;
    let qtype = be16(msg, pos)?;
    let qclass = be16(msg, pos + 2)?;
    Ok((
        Question {
            name,
            qtype,
            qclass,
        },
        pos + 4,
    ))
}

fn parse_record(msg: &[u8], pos: usize) -> Result<(Record, usize), &'static str> {
    let (name, pos) = read_name(msg, pos)?;
    let rtype = be16(msg, pos)?;
    let class = be16(msg, pos + 2)?;
    let ttl = be32(msg, pos + 4)?;
    let rdlength = be16(msg, pos + 8)?;
    let start = pos + 10;
    let end = start + usize::from(rdlength);
    let rdata = msg
        .get(start..end)
        .ok_or("record data runs past the end of the message")?;
    let data = parse_rdata(msg, start, rdata, rtype).unwrap_or(RData::Bad);
    Ok((
        Record {
            name,
            rtype,
            class,
            ttl,
            rdlength,
            data,
        },
        end,
    ))
}

fn parse_rdata(msg: &[u8], start: usize, rdata: &[u8], rtype: u16) -> Option<RData> {
    Some(match rtype {
        rtype::A => RData::A(*rdata.first_chunk::<4>().filter(|_| rdata.len() == 4)?),
        rtype::AAAA => RData::Aaaa(*rdata.first_chunk::<16>().filter(|_| rdata.len() == 16)?),
        rtype::CNAME | rtype::NS | rtype::PTR | 3 | 4 | 7 | 8 | 9 => {
            RData::Name(read_name(msg, start).ok()?.0)
        }
        rtype::MX => RData::Mx {
            preference: be16(msg, start).ok()?,
            exchange: read_name(msg, start + 2).ok()?.0,
        },
        rtype::SOA => {
            let (mname, p) = read_name(msg, start).ok()?;
            let (rname, p) = read_name(msg, p).ok()?;
            RData::Soa {
                mname,
                rname,
                serial: be32(msg, p).ok()?,
                refresh: be32(msg, p + 4).ok()?,
                retry: be32(msg, p + 8).ok()?,
                expire: be32(msg, p + 12).ok()?,
                minimum: be32(msg, p + 16).ok()?,
            }
        }
        rtype::SRV => RData::Srv {
            priority: be16(msg, start).ok()?,
            weight: be16(msg, start + 2).ok()?,
            port: be16(msg, start + 4).ok()?,
            target: read_name(msg, start + 6).ok()?.0,
        },
        rtype::TXT => {
            let mut strings = Vec::new();
            let mut rest = rdata;
            while let Some((&len, tail)) = rest.split_first() {
                let (s, tail) = tail.split_at_checked(usize::from(len))?;
                strings.push(escape_bytes(s));
                rest = tail;
            }
            RData::Txt(strings)
        }
        _ => RData::Other,
    })
}

/// Read a possibly compressed name starting at `pos`. Returns the name in presentation form
/// (labels joined by '.', no trailing dot, `<Root>` for the root) and the offset after the name as
/// it stands at `pos` (after the first pointer, if any).
pub fn read_name(msg: &[u8], pos: usize) -> Result<(String, usize), &'static str> {
    let mut name = String::new();
    let mut wire_len = 0usize;
    let mut cur = pos;
    // Offset just past the name in the original position; fixed at the first pointer.
    let mut after: Option<usize> = None;
    // The start of the label run we are in: a pointer must point strictly before it.
    let mut run_start = pos;
    let mut hops = 0usize;
    loop {
        let &len = msg
            .get(cur)
            .ok_or("name runs past the end of the message")?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    let end = after.unwrap_or(cur + 1);
                    if name.is_empty() {
                        name.push_str("<Root>");
                    }
                    return Ok((name, end));
                }
                let label = msg
                    .get(cur + 1..cur + 1 + usize::from(len))
                    .ok_or("label runs past the end of the message")?;
                wire_len += 1 + label.len();
                if wire_len > MAX_NAME_LEN {
                    return Err("name longer than 255 bytes");
                }
                if !name.is_empty() {
                    name.push('.');
                }
                push_escaped(&mut name, label);
                cur += 1 + label.len();
            }
            0xc0 => {
                let &lo = msg
                    .get(cur + 1)
                    .ok_or("name runs past the end of the message")?;
                let target = usize::from(u16::from_be_bytes([len & 0x3f, lo]));
                if target >= run_start {
                    return Err("compression pointer does not point backwards");
                }
                hops += 1;
                if hops > MAX_NAME_HOPS {
                    return Err("too many compression pointers");
                }
                if after.is_none() {
                    after = Some(cur + 2);
                }
                cur = target;
                run_start = target;
            }
            _ => return Err("unknown label type"),
        }
    }
}

fn push_escaped(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if (0x20..0x7f).contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
}

fn escape_bytes(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    push_escaped(&mut s, bytes);
    s
}

/// Wireshark's mnemonic for a record type.
pub fn type_name(t: u16) -> std::borrow::Cow<'static, str> {
    let s = match t {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        24 => "SIG",
        25 => "KEY",
        28 => "AAAA",
        29 => "LOC",
        33 => "SRV",
        35 => "NAPTR",
        39 => "DNAME",
        41 => "OPT",
        43 => "DS",
        44 => "SSHFP",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        257 => "CAA",
        _ => return std::borrow::Cow::Owned(format!("Unknown ({t})")),
    };
    std::borrow::Cow::Borrowed(s)
}

/// Wireshark's text for a response code.
pub fn rcode_name(rcode: u16) -> &'static str {
    match rcode {
        0 => "No error",
        1 => "Format error",
        2 => "Server failure",
        3 => "No such name",
        4 => "Not implemented",
        5 => "Refused",
        6 => "Name exists",
        7 => "RRset exists",
        8 => "RRset does not exist",
        9 => "Not authoritative",
        10 => "Name out of zone",
        _ => "Unknown error",
    }
}

/// Wireshark's text for an opcode, as it starts the Info column.
pub fn opcode_name(opcode: u16) -> &'static str {
    match opcode {
        0 => "Standard query",
        1 => "Inverse query",
        2 => "Server status request",
        4 => "Zone change notification",
        5 => "Dynamic update",
        _ => "Unknown operation",
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    /// arkime__dns-wiresharkrepo.pcap #26 (real bytes, UDP payload): the response 0x5a53,
    /// PTR 1.0.0.127.in-addr.arpa -> localhost, its answer name compressed to the question.
    const PTR_RESPONSE: &[u8] = &[
        0x5a, 0x53, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, // header: AA, RD, RA
        0x01, 0x31, 0x01, 0x30, 0x01, 0x30, 0x03, 0x31, 0x32, 0x37, 0x07,
        0x69, // 1.0.0.127.in-
        0x6e, 0x2d, 0x61, 0x64, 0x64, 0x72, 0x04, 0x61, 0x72, 0x70, 0x61, 0x00, // addr.arpa
        0x00, 0x0c, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x0c, 0x00, 0x01, 0x00,
        0x00, // PTR IN; ptr->12
        0x0e, 0x10, 0x00, 0x0b, 0x09, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x68,
        0x6f, // ttl 3600, len 11
        0x73, 0x74, 0x00, // localhost
    ];

    #[test]
    fn parses_ptr_response() {
        let m = parse(PTR_RESPONSE).unwrap();
        assert_eq!(m.id, 0x5a53);
        assert!(m.is_response());
        assert_eq!(m.questions[0].name, "1.0.0.127.in-addr.arpa");
        assert_eq!(m.questions[0].qtype, rtype::PTR);
        assert_eq!(m.answers[0].data, RData::Name("localhost".into()));
        assert_eq!(m.answers[0].ttl, 3600);
        assert_eq!(m.malformed, None);
    }

    #[test]
    fn every_prefix_decodes_without_panic() {
        for n in 0..PTR_RESPONSE.len() {
            let m = parse(&PTR_RESPONSE[..n]);
            assert_eq!(m.is_none(), n < HEADER_LEN);
            if let Some(m) = m
                && n >= HEADER_LEN
            {
                assert!(m.malformed.is_some(), "prefix {n} should be malformed");
            }
        }
    }

    #[test]
    fn pointer_loops_and_forward_pointers_are_rejected() {
        // A name at 12 pointing to itself.
        let mut msg = PTR_RESPONSE[..12].to_vec();
        msg.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        assert_eq!(
            read_name(&msg, 12),
            Err("compression pointer does not point backwards")
        );
        // A pointer chain that bounces between two earlier names is cut by the backwards rule.
        let msg = [0u8, 0, 0xc0, 0x04, 0xc0, 0x02];
        assert!(read_name(&msg, 4).is_err());
    }

    #[test]
    fn overlong_names_are_rejected() {
        let mut msg = vec![0u8; 12];
        for _ in 0..5 {
            msg.push(63);
            msg.extend_from_slice(&[b'a'; 63]);
        }
        msg.push(0);
        assert_eq!(read_name(&msg, 12), Err("name longer than 255 bytes"));
    }

    #[test]
    fn non_ascii_labels_are_escaped() {
        let msg = [2u8, b'a', 0x1b, 0];
        assert_eq!(read_name(&msg, 0).unwrap().0, "a\\x1b");
    }
}
