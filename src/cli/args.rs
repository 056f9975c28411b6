//! Raw command-line arguments (clap derive). What clap cannot check (filters, formats, `-E`
//! options) is checked in [`super`], before any packet is read.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "wirelite",
    version,
    about = "A fast, Wireshark-compatible packet-capture analyzer for the command line",
    long_about = "Reads pcap and pcapng captures (also gzip-compressed, or - for standard input) \
and shows them with Wireshark's field names and tshark's formats.",
    after_help = "Examples:\n  wirelite list samples/lab-http.pcap\n  wirelite list capture.pcap -V -c 3\n  \
tcpdump -i any -w - | wirelite list -\n\nExit codes: 0 ok, 1 a capture could not be read (what was read is still shown), \
2 a usage error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the packets of a capture, one line each (or a detail tree, JSON, field columns)
    #[command(after_help = "Examples:\n  \
wirelite list lab.pcap                          one line per packet, like tshark\n  \
wirelite list lab.pcap -V -c 1                  the detail tree of the first packet\n  \
wirelite list lab.pcap -Y 'tcp.port==80 and ip.dst_host==10.0.1.10'\n  \
wirelite list lab.pcap -Y 'ip.addr==10.0.2.0/24' --count\n  \
wirelite list lab.pcap -T fields -e ip.src -e tcp.dstport -E header=y\n  \
wirelite list lab.pcap -T ndjson | jq .         one JSON object per packet\n  \
tcpdump -i any -w - | wirelite list -           read a live capture from a pipe")]
    List(ListArgs),
    /// One row per TCP connection: handshake, how it ended, Zeek state and history, counts
    #[command(after_help = "Examples:\n  \
wirelite tcp samples/lab-http.pcap\n  \
wirelite tcp samples/lab-ssh-moved.pcap --explain          what happened, in words\n  \
wirelite tcp samples/lab-mixed.pcapng --handshakes          SYN/SYN-ACK/ACK frames, iRTT, MSS, WS\n  \
wirelite tcp lab.pcap -Y 'ip.addr==10.0.2.0/24' -T json     connections with a matching packet\n\n\
A client port marked * was picked up midstream (no SYN seen). States and history letters are\n\
Zeek's (conn.log): SF normal close, S0 no answer, REJ refused, RSTO/RSTR reset by client/server,\n\
S1 still open, SH half-open, OTH midstream; upper case = client, lower case = server.")]
    Tcp(TcpArgs),
    /// A ladder diagram of one TCP connection: one arrow per segment, with flags, Seq/Ack and Len
    #[command(after_help = "Examples:\n  \
wirelite flow samples/lab-http.pcap --stream 0\n  \
wirelite flow samples/lab-refused.pcap --stream 0 --explain\n  \
wirelite flow samples/lab-http.pcap --stream 0 --format svg -o handshake.svg\n\n\
Stream numbers are Wireshark's tcp.stream: see them with `wirelite tcp FILE`.")]
    Flow(FlowArgs),
    /// Pings: each echo request next to its reply and round trip, and per host pair statistics
    #[command(after_help = "Examples:\n  \
wirelite ping samples/lab-ping-any.pcap\n  \
wirelite ping lab.pcap -Y 'ip.dst==10.0.2.10' -T json\n\n\
Requests and replies are paired as Wireshark pairs them (addresses, identifier, sequence).")]
    Ping(PairArgs),
    /// DNS: each query next to its response (name, type, rcode, answers, latency)
    #[command(after_help = "Examples:\n  \
wirelite dns samples/lab-dns.pcap\n  \
wirelite dns lab.pcap -Y 'dns.flags.rcode==3' -T json     queries whose answer was NXDOMAIN\n\n\
A query repeated within 5 s is a retransmission, as in Wireshark; -Y keeps the transactions\n\
with a matching query or response.")]
    Dns(PairArgs),
    /// HTTP: each request next to its response (method, host, URI, status, sizes, latency)
    #[command(after_help = "Examples:\n  \
wirelite http samples/lab-keepalive.pcapng\n  \
wirelite http lab.pcap -Y 'http.response.code >= 400'      exchanges that failed\n  \
wirelite http lab.pcap -Y 'tcp.port==8080' -T json\n\n\
HTTP/1.x is found by its content on any port. A message is complete on the frame carrying its\n\
last byte; responses pair with requests in order per connection (pipelining included). -Y keeps\n\
the exchanges with a matching request or response frame.")]
    Http(PairArgs),
    /// Conversations: who talked to whom, frames and bytes each way (tshark -z conv,X)
    #[command(after_help = "Examples:\n  \
wirelite conv samples/lab-mixed.pcapng --by ip\n  \
wirelite conv lab.pcap --by tcp --sort bytes -T json\n  \
wirelite conv lab.pcap --by udp -Y 'udp.port==53'\n\n\
A is the side that sent the conversation's first frame; bytes are frame lengths. TCP and UDP\n\
conversations are tcp.stream / udp.stream; eth, ip and ipv6 count the outer header only.")]
    Conv(ConvArgs),
    /// What is in a capture: capinfos' figures, the protocol hierarchy, top talkers, services
    #[command(after_help = "Examples:\n  \
wirelite stats samples/lab-mixed.pcapng\n  \
wirelite stats lab.pcap -Y 'ip.addr==10.0.2.0/24'          only the private subnet's traffic\n  \
wirelite stats lab.pcap -T json\n\n\
Packets, bytes, times and rates are capinfos'; bytes are lengths on the wire. The hierarchy\n\
counts each frame once under every protocol on its path, as tshark -q -z io,phs does.")]
    Stats(StatsArgs),
    /// Traffic over time: packets and bytes per interval, for one or several filters
    #[command(after_help = "Examples:\n  \
wirelite io samples/lab-mixed.pcapng --interval 10s\n  \
wirelite io lab.pcap --interval 1s -Y 'tcp.port==80' -Y dns        one series per filter\n  \
wirelite io lab.pcap --interval 500ms --format csv > io.csv\n  \
wirelite io lab.pcap --interval 5s -Y icmp --format svg -o io.svg\n\n\
Intervals start at the first frame's time, as tshark -z io,stat counts them; bytes are\n\
lengths on the wire. Without -Y the one series is every frame.")]
    Io(IoArgs),
    /// Endpoints: every address (and port) with the frames and bytes it sent and received
    #[command(after_help = "Examples:\n  \
wirelite endpoints samples/lab-mixed.pcapng --by ip\n  \
wirelite endpoints lab.pcap --by tcp --sort bytes")]
    Endpoints(ConvArgs),
    /// The reassembled conversation of one TCP connection, as Wireshark's Follow TCP Stream
    #[command(after_help = "Examples:\n  \
wirelite follow samples/lab-echo-8080.pcap --stream 0          what the typist sent and got back\n  \
wirelite follow samples/lab-http.pcap --stream 0 --format hex\n  \
wirelite follow lab.pcap --stream 3 --format raw > stream3.hex\n\n\
Retransmitted bytes appear once, early segments wait for the gap before them; bytes that never\n\
arrived are shown as '[N bytes missing in capture file]'. Output matches tshark -z follow,tcp,FORMAT,N.\n\
--stream udp:N follows UDP conversation N (udp.stream), one block per datagram.")]
    Follow(FollowArgs),
    /// Check a display filter without reading a capture: print its parsed form, or the error
    #[command(
        after_help = "Examples:\n  wirelite filter-check 'tcp.port==80 and ip.dst_host==10.0.1.10'\n  \
wirelite filter-check 'ip.addr==10.0.2.0/24 && !icmp'\n\nExit code 2 when the filter is not valid."
    )]
    FilterCheck {
        /// The display filter, as in Wireshark
        filter: String,
    },
    /// List the fields wirelite knows (name, type, description), like `tshark -G fields`
    #[command(after_help = "Examples:\n  wirelite fields\n  wirelite fields | grep '^tcp\\.'")]
    Fields,
}

/// What every command that reads a capture takes.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The capture file (pcap, pcapng, optionally gzip-compressed); - reads standard input
    #[arg(value_name = "FILE")]
    pub file: Option<String>,

    /// The capture file, as tshark's -r
    #[arg(short = 'r', long = "read-file", value_name = "FILE")]
    pub read_file: Option<String>,

    /// Threads that decode, and render the tables written after the run (default: one per
    /// core, one fewer for the list and for the table commands without a filter, whose
    /// frame-by-frame stage keeps a core of its own); the output is the same for any number
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Memory the analysis state may use, in MB (TCP connections, reassembly, IP fragments,
    /// HTTP heads, table rows); past a part's share the oldest state is dropped and what was
    /// cut short is reported on stderr
    #[arg(long, value_name = "MB", default_value_t = crate::limits::DEFAULT_MAX_MEMORY >> 20)]
    pub max_memory: u64,

    /// Frames per decode batch (tuning and tests)
    #[arg(long, value_name = "N", default_value_t = crate::engine::BATCH_FRAMES, hide = true)]
    pub batch_frames: usize,
}

impl CaptureArgs {
    /// The limits `--max-memory` gives.
    pub fn limits(&self) -> crate::limits::Limits {
        crate::limits::Limits::of(self.max_memory.saturating_mul(1 << 20))
    }

    /// The pipeline's options these arguments set (threads, batch size, limits), the others
    /// at their defaults: what every command starts from.
    pub fn options(&self) -> crate::engine::Options {
        crate::engine::Options {
            threads: self.threads,
            batch_frames: self.batch_frames,
            limits: self.limits(),
            ..crate::engine::Options::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct TcpArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    #[command(flatten)]
    pub table: TableArgs,
    /// Show only the handshake columns
    #[arg(long)]
    pub handshakes: bool,
    /// Explain what happened on each connection in plain words
    #[arg(long)]
    pub explain: bool,
}

#[derive(Debug, Args)]
pub struct FollowArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// The conversation to follow: a tcp.stream number (N or tcp:N), or udp:N for udp.stream N
    #[arg(long, value_name = "N")]
    pub stream: String,
    /// ascii (default), hex or raw
    #[arg(long, value_name = "FORMAT", default_value = "ascii")]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct ConvArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// Only count packets matching this display filter (as tshark -z conv,X,FILTER)
    #[arg(short = 'Y', long = "display-filter", value_name = "FILTER")]
    pub filter: Option<String>,
    /// Output format: text (default) or json
    #[arg(short = 'T', value_name = "FORMAT", default_value = "text")]
    pub format: String,
    /// What a conversation is: eth, ip, ipv6, tcp or udp
    #[arg(long, value_name = "KIND", default_value = "tcp")]
    pub by: String,
    /// Row order: packets (default, as tshark), bytes, start or duration
    #[arg(long, value_name = "KEY", default_value = "packets")]
    pub sort: String,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// Only count packets matching this display filter
    #[arg(short = 'Y', long = "display-filter", value_name = "FILTER")]
    pub filter: Option<String>,
    /// Output format: text (default) or json
    #[arg(short = 'T', value_name = "FORMAT", default_value = "text")]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct IoArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// A series: the packets matching this display filter (repeat for several)
    #[arg(short = 'Y', long = "display-filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Interval length: a number with s (default), ms, us, m or h
    #[arg(long, value_name = "TIME", default_value = "1s")]
    pub interval: String,
    /// bars (default, a terminal chart), csv or svg
    #[arg(long, value_name = "FORMAT", default_value = "bars")]
    pub format: String,
    /// What bars and lines show: packets (default) or bytes
    #[arg(long, value_name = "METRIC", default_value = "packets")]
    pub metric: String,
    /// Write to this file instead of standard output
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<String>,
}

#[derive(Debug, Args)]
pub struct PairArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    #[command(flatten)]
    pub table: TableArgs,
}

/// What the table commands (tcp, ping, dns) take besides the capture.
#[derive(Debug, Args)]
pub struct TableArgs {
    /// Only rows (connections, transactions) with a packet matching this display filter
    #[arg(short = 'Y', long = "display-filter", value_name = "FILTER")]
    pub filter: Option<String>,
    /// Output format: text (default) or json
    #[arg(short = 'T', value_name = "FORMAT", default_value = "text")]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct FlowArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// The connection to draw (its tcp.stream number)
    #[arg(long, value_name = "N")]
    pub stream: u32,
    /// text (default) or svg
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    pub format: String,
    /// Write to this file instead of standard output
    #[arg(short = 'o', value_name = "FILE")]
    pub output: Option<String>,
    /// Add a plain-language line to notable segments and a summary of the connection
    #[arg(long)]
    pub explain: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,

    /// Show only packets that match this Wireshark display filter, e.g. 'tcp.port==80'
    #[arg(short = 'Y', long = "display-filter", value_name = "FILTER")]
    pub filter: Option<String>,

    /// Print only the number of matching packets
    #[arg(long = "count")]
    pub count_only: bool,

    /// Show the detail tree of every packet
    #[arg(short = 'V', long = "verbose")]
    pub verbose: bool,

    /// Read the file twice, as tshark -2, so requests show the frame that answered them
    /// (http.response_in, dns.response_in, icmp.resp_in); automatic when -e or -Y names one
    #[arg(short = '2', long = "two-pass")]
    pub two_pass: bool,

    /// Output format: text (default), fields, json, ndjson
    #[arg(short = 'T', value_name = "FORMAT", default_value = "text")]
    pub format: String,

    /// A field to print with -T fields (repeatable), e.g. -e ip.src -e tcp.port
    #[arg(short = 'e', value_name = "FIELD")]
    pub fields: Vec<String>,

    /// Field output options, as tshark's -E: header=y|n, separator=/t|/s|C, occurrence=f|l|a|N,
    /// aggregator=C, quote=d|s|n
    #[arg(short = 'E', value_name = "OPTION=VALUE")]
    pub field_opts: Vec<String>,

    /// Read only the first N packets (as tshark: a -Y filter then applies to those N)
    #[arg(short = 'c', value_name = "N")]
    pub count: Option<u64>,

    /// Accepted for tshark compatibility: name resolution is always off
    #[arg(short = 'n', hide = true)]
    pub no_resolve: bool,
}
