//! `cargo xtask bench server`: the dev server's tus ingest rate and API
//! latency under load, side by side with `@tus/server` + `@tus/file-store`
//! (npm) on the same machine in the same run.
//!
//! Steps: build `auraloader-server` (profile `server-bench`: the release
//! profile at `opt-level = 3`, since release optimises the wasm for size);
//! start it and the
//! peer (`www/bench/tus_server.mjs`) on free loopback ports over temporary
//! data folders; then, with an in-repo load generator (std threads, one
//! HTTP/1.1 keep-alive connection per thread):
//!
//! - ingest: `--uploads` parallel tus uploads of `--size-mib` each, sent as
//!   PATCHes of `--chunk-mib`, timed from the first POST to the last 204;
//!   `--runs` rounds, alternating the two servers, median reported;
//! - latency: `--connections` connections sending back-to-back requests for
//!   `--seconds`: `GET /api/uploader/config` on ours, and `HEAD` of an upload
//!   on both (the peer has no config endpoint).
//!
//! The bodies are one stored zip (our server checks the magic and verifies
//! every finished zip). Afterwards every upload is checked: complete and
//! verified on ours (`/api/dev/uploads`), full length on disk for the peer.
//! Writes the server section of `BENCHMARKS.md`. No threshold is checked.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bench::{cpu_model, free_port, load_average, today};
use crate::util::{self, run_cmd};

/// Usage of the subcommand.
pub const USAGE: &str = "usage: cargo xtask bench server [options]

options:
  --uploads N       parallel uploads per ingest round (default 8)
  --size-mib M      size of each upload in MiB (default 32)
  --chunk-mib C     PATCH size in MiB (default 4)
  --runs R          ingest rounds per server; the median is reported (default 5)
  --connections K   concurrent connections for the latency runs (default 32)
  --seconds S       length of each latency run (default 5)
  --no-write        print the section without updating BENCHMARKS.md";

/// The heading of the section this benchmark owns in BENCHMARKS.md.
const SECTION: &str = "## Server: tus ingest and API latency";

/// Socket read and write timeout of the load generator.
const IO_TIMEOUT: Duration = Duration::from_secs(120);

/// Parsed options.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    uploads: usize,
    size_mib: usize,
    chunk_mib: usize,
    runs: usize,
    connections: usize,
    seconds: u64,
    write: bool,
}

impl Options {
    fn from_args(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            uploads: 8,
            size_mib: 32,
            chunk_mib: 4,
            runs: 5,
            connections: 32,
            seconds: 5,
            write: true,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut number = |name: &str, max: u64| -> Result<u64, String> {
                let text = args
                    .next()
                    .ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"))?;
                text.parse::<u64>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        format!("{name} must be a whole number from 1 to {max}, not {text:?}")
                    })
            };
            let size = |n: u64| usize::try_from(n).map_err(|_| format!("{n} is too large"));
            match arg.as_str() {
                "--uploads" => options.uploads = size(number(arg, 256)?)?,
                "--size-mib" => options.size_mib = size(number(arg, 2048)?)?,
                "--chunk-mib" => options.chunk_mib = size(number(arg, 512)?)?,
                "--runs" => options.runs = size(number(arg, 20)?)?,
                "--connections" => options.connections = size(number(arg, 512)?)?,
                "--seconds" => options.seconds = number(arg, 300)?,
                "--no-write" => options.write = false,
                other => return Err(format!("unknown option {other:?}\n\n{USAGE}")),
            }
        }
        Ok(options)
    }
}

/// `cargo xtask bench server …`.
pub fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    bench(&Options::from_args(args)?)
}

/// Removes a folder however the benchmark ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server process, killed however the benchmark ends.
struct Process {
    child: Child,
    /// Keeps reading stdout so the process never blocks on a full pipe.
    _drain: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd` with piped stdout and reads lines until `ready` returns
/// `Some` (at most `limit`); keeps draining stdout afterwards.
fn start<T: Send + 'static>(
    mut cmd: Command,
    limit: Duration,
    mut ready: impl FnMut(&str) -> Option<T> + Send + 'static,
) -> Result<(Process, T), String> {
    let shown = util::describe(&cmd);
    println!("$ {shown}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    let stdout: Option<ChildStdout> = child.stdout.take();
    let mut process = Process {
        child,
        _drain: None,
    };
    let (send, receive) = std::sync::mpsc::channel();
    let drain = std::thread::spawn(move || {
        let Some(stdout) = stdout else { return };
        let mut send = Some(send);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(found) = send.as_ref().and_then(|_| ready(&line)) {
                if let Some(send) = send.take() {
                    let _ = send.send(found);
                }
            }
        }
    });
    process._drain = Some(drain);
    let found = receive
        .recv_timeout(limit)
        .map_err(|_| format!("`{shown}` was not ready within {} s", limit.as_secs()))?;
    Ok((process, found))
}

/// One HTTP/1.1 keep-alive connection.
struct Conn {
    addr: String,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// A response read whole.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn expect(self, status: u16, what: &str) -> Result<Reply, String> {
        if self.status == status {
            Ok(self)
        } else {
            Err(format!(
                "{what}: got {}, wanted {status}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            ))
        }
    }
}

impl Conn {
    fn open(addr: &str) -> Result<Conn, String> {
        let socket = addr
            .parse()
            .map_err(|e| format!("bad address {addr}: {e}"))?;
        let stream = TcpStream::connect_timeout(&socket, Duration::from_secs(10))
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(|e| format!("cannot configure the socket: {e}"))?;
        let writer = stream
            .try_clone()
            .map_err(|e| format!("cannot clone the socket: {e}"))?;
        Ok(Conn {
            addr: addr.to_owned(),
            reader: BufReader::with_capacity(64 * 1024, stream),
            writer,
        })
    }

    /// Sends one request and reads its response; reconnects first when the
    /// server closed the connection.
    fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Reply, String> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nTus-Resumable: 1.0.0\r\n",
            self.addr
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || method == "POST" || method == "PATCH" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let what = format!("{method} {path}");
        self.writer
            .write_all(head.as_bytes())
            .and_then(|()| self.writer.write_all(body))
            .map_err(|e| format!("{what}: cannot send: {e}"))?;
        let reply = self
            .read(method == "HEAD")
            .map_err(|e| format!("{what}: {e}"))?;
        if reply
            .header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
        {
            *self = Conn::open(&self.addr)?;
        }
        Ok(reply)
    }

    fn read(&mut self, head_only: bool) -> Result<Reply, String> {
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .map_err(|e| format!("no response: {e}"))?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not an HTTP response: {line:?}"))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader
                .read_line(&mut line)
                .map_err(|e| format!("response head cut: {e}"))?;
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
            if headers.len() > 200 {
                return Err("more than 200 response headers".to_owned());
            }
        }
        let mut reply = Reply {
            status,
            headers,
            body: Vec::new(),
        };
        if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
            return Ok(reply);
        }
        if let Some(length) = reply.header("content-length") {
            let length: usize = length
                .parse()
                .map_err(|_| format!("bad content-length {length:?}"))?;
            reply.body = vec![0; length];
            self.reader
                .read_exact(&mut reply.body)
                .map_err(|e| format!("response body cut: {e}"))?;
        } else if reply
            .header("transfer-encoding")
            .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
        {
            loop {
                line.clear();
                self.reader
                    .read_line(&mut line)
                    .map_err(|e| format!("chunk size cut: {e}"))?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| format!("bad chunk size {line:?}"))?;
                let mut chunk = vec![0; size + 2];
                self.reader
                    .read_exact(&mut chunk)
                    .map_err(|e| format!("chunk cut: {e}"))?;
                if size == 0 {
                    break;
                }
                reply.body.extend_from_slice(&chunk[..size]);
            }
        }
        Ok(reply)
    }
}

/// One server under test.
#[derive(Clone)]
struct Target {
    name: &'static str,
    addr: String,
    /// Headers every tus request carries (the lift token for ours).
    tus_headers: Vec<(String, String)>,
}

impl Target {
    fn headers(&self) -> Vec<(&str, &str)> {
        self.tus_headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// Creates an upload of `length` bytes; returns its path.
    fn create(&self, conn: &mut Conn, length: usize) -> Result<String, String> {
        let length = length.to_string();
        let mut headers = self.headers();
        headers.push(("Upload-Length", &length));
        let reply = conn
            .send("POST", "/files/", &headers, b"")?
            .expect(201, &format!("{}: creating an upload", self.name))?;
        let location = reply
            .header("location")
            .ok_or_else(|| format!("{}: no Location on 201", self.name))?;
        let path = match location.find("/files/") {
            Some(i) => location[i..].to_owned(),
            None => return Err(format!("{}: odd Location {location:?}", self.name)),
        };
        Ok(path)
    }
}

/// What one ingest round measured.
struct Ingest {
    seconds: f64,
    bytes: u64,
    paths: Vec<String>,
    /// Round trips of every PATCH but each upload's last, in seconds.
    patch_seconds: Vec<f64>,
    /// Round trip of each upload's last PATCH (the one that completes it).
    last_patch_seconds: Vec<f64>,
}

/// An ingest's results over all rounds, for one server.
#[derive(Default)]
struct Totals {
    rates: Vec<f64>,
    patch_seconds: Vec<f64>,
    last_patch_seconds: Vec<f64>,
    paths: Vec<String>,
}

/// `uploads` parallel uploads of `data`, each on its own connection.
fn ingest(target: &Target, options: &Options, data: &Arc<Vec<u8>>) -> Result<Ingest, String> {
    let chunk = options.chunk_mib << 20;
    let barrier = Arc::new(Barrier::new(options.uploads + 1));
    let mut threads = Vec::new();
    for _ in 0..options.uploads {
        let target = target.clone();
        let data = Arc::clone(data);
        let barrier = Arc::clone(&barrier);
        threads.push(std::thread::spawn(
            move || -> Result<(String, Vec<f64>), String> {
                let conn = Conn::open(&target.addr);
                barrier.wait();
                let mut conn = conn?;
                let path = target.create(&mut conn, data.len())?;
                let mut patches = Vec::new();
                let mut offset = 0;
                while offset < data.len() {
                    let end = (offset + chunk).min(data.len());
                    let started = Instant::now();
                    target.upload_range(&mut conn, &path, &data, offset, end)?;
                    patches.push(started.elapsed().as_secs_f64());
                    offset = end;
                }
                Ok((path, patches))
            },
        ));
    }
    barrier.wait();
    let started = Instant::now();
    let mut paths = Vec::new();
    let mut patch_seconds = Vec::new();
    let mut last_patch_seconds = Vec::new();
    let mut first_error = None;
    for thread in threads {
        match thread.join() {
            Ok(Ok((path, mut patches))) => {
                paths.push(path);
                last_patch_seconds.extend(patches.pop());
                patch_seconds.extend(patches);
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(_) => {
                first_error.get_or_insert_with(|| "an upload thread panicked".to_owned());
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(Ingest {
        seconds,
        bytes: (data.len() * options.uploads) as u64,
        paths,
        patch_seconds,
        last_patch_seconds,
    })
}

impl Target {
    /// One PATCH of `data[offset..end]`.
    fn upload_range(
        &self,
        conn: &mut Conn,
        path: &str,
        data: &[u8],
        offset: usize,
        end: usize,
    ) -> Result<(), String> {
        let at = offset.to_string();
        let mut headers = self.headers();
        headers.push(("Upload-Offset", &at));
        headers.push(("Content-Type", "application/offset+octet-stream"));
        let reply = conn
            .send("PATCH", path, &headers, &data[offset..end])?
            .expect(204, &format!("{}: PATCH {path} at {offset}", self.name))?;
        let acked = reply.header("upload-offset").unwrap_or("");
        if acked != end.to_string() {
            return Err(format!(
                "{}: PATCH {path} acknowledged offset {acked:?}, wanted {end}",
                self.name
            ));
        }
        Ok(())
    }
}

/// What one latency run measured.
struct Latency {
    requests: usize,
    seconds: f64,
    /// Sorted round trips in seconds.
    sorted: Vec<f64>,
}

impl Latency {
    fn percentile(&self, p: f64) -> f64 {
        percentile(&self.sorted, p)
    }
}

/// The `p`-th percentile (nearest rank) of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// What each latency connection asks, back to back.
#[derive(Clone)]
enum Probe {
    /// `GET path` with these headers.
    Get {
        path: &'static str,
        headers: Vec<(String, String)>,
    },
    /// `HEAD` of an upload the connection creates first (of 1 MiB, no bytes
    /// sent), so connections do not contend for one upload's lock.
    HeadOwnUpload(Target),
}

/// `connections` connections each sending their probe back to back for
/// `seconds`, after a one-second warm-up; every answer must be 200.
fn latency(addr: &str, probe: &Probe, options: &Options) -> Result<Latency, String> {
    let barrier = Arc::new(Barrier::new(options.connections + 1));
    let warm_up = Duration::from_secs(1);
    let window = Duration::from_secs(options.seconds);
    let mut threads = Vec::new();
    for _ in 0..options.connections {
        let addr = addr.to_owned();
        let probe = probe.clone();
        let barrier = Arc::clone(&barrier);
        threads.push(std::thread::spawn(move || -> Result<Vec<f64>, String> {
            // Set up before the barrier, so it is not timed; always reach
            // the barrier, so no thread waits for one that failed.
            let ready = Conn::open(&addr).and_then(|mut conn| {
                let (method, path, headers) = match &probe {
                    Probe::Get { path, headers } => ("GET", (*path).to_owned(), headers.clone()),
                    Probe::HeadOwnUpload(target) => {
                        let path = target.create(&mut conn, 1 << 20)?;
                        ("HEAD", path, target.tus_headers.clone())
                    }
                };
                Ok((conn, method, path, headers))
            });
            barrier.wait();
            let (mut conn, method, path, headers) = ready?;
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let started = Instant::now();
            let mut times = Vec::new();
            loop {
                let elapsed = started.elapsed();
                if elapsed >= warm_up + window {
                    break;
                }
                let sent = Instant::now();
                let reply = conn.send(method, &path, &headers, b"")?;
                let took = sent.elapsed().as_secs_f64();
                if reply.status != 200 {
                    return Err(format!(
                        "{method} {path}: got {}, wanted 200: {}",
                        reply.status,
                        String::from_utf8_lossy(&reply.body)
                    ));
                }
                if elapsed >= warm_up {
                    times.push(took);
                }
            }
            Ok(times)
        }));
    }
    barrier.wait();
    let mut sorted = Vec::new();
    for thread in threads {
        sorted.extend(
            thread
                .join()
                .map_err(|_| "a latency thread panicked".to_owned())??,
        );
    }
    sorted.sort_by(f64::total_cmp);
    Ok(Latency {
        requests: sorted.len(),
        seconds: window.as_secs_f64(),
        sorted,
    })
}

/// A stored (uncompressed) zip of `mib` entries of 1 MiB of pseudo-random
/// bytes: what our server accepts (zip magic) and verifies (CRC-32).
fn stored_zip(mib: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity((mib << 20) + mib * 128 + 64);
    let mut central = Vec::new();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for index in 0..mib {
        let mut data = vec![0u8; 1 << 20];
        for word in data.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes()[..word.len()]);
        }
        let mut crc = flate2::Crc::new();
        crc.update(&data);
        let crc = crc.sum();
        let name = format!("IM{index:05}.dcm");
        let offset = out.len() as u32;
        let size = data.len() as u32;
        let name_len = name.len() as u16;
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for v in [20u16, 0, 0, 0, 0x21] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name_len, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&data);
        // Central directory header.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        for v in [20u16, 20, 0, 0, 0, 0x21] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name_len, 0, 0, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [0u32, offset] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = out.len() as u32;
    let central_size = central.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    let entries = mib as u16;
    for v in [0u16, 0, entries, entries] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in [central_size, central_offset] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Our server, started and given a lift token.
struct Ours {
    _process: Process,
    addr: String,
    api_key: String,
    token: String,
    lift: String,
}

fn start_ours(binary: &Path, data_dir: &Path) -> Result<Ours, String> {
    let addr = format!("127.0.0.1:{}", free_port()?);
    let mut cmd = Command::new(binary);
    cmd.arg("--addr")
        .arg(&addr)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "warn");
    // Rate limits out of the way: this measures throughput, not the limiter.
    for flag in [
        "--rate-exchange",
        "--rate-config",
        "--rate-lifecycle",
        "--rate-tus",
    ] {
        cmd.args([flag, "100000000"]);
    }
    let mut api_key = None;
    let (process, api_key) = start(cmd, Duration::from_secs(30), move |line| {
        if let Some(key) = line.trim().strip_prefix("SERVICE_API_KEY=") {
            api_key = Some(key.to_owned());
        }
        line.starts_with("auraloader-server: http://")
            .then(|| api_key.clone())
    })?;
    let api_key = api_key.ok_or("the server did not print the demo API key on its first start")?;
    let mut conn = Conn::open(&addr)?;
    let reply = conn
        .send("POST", "/demo/upload-token", &[], b"")?
        .expect(200, "POST /demo/upload-token")?;
    let token = json_field(&reply.body, &["token"])?;
    let bearer = format!("Bearer {token}");
    let reply = conn
        .send(
            "GET",
            "/api/uploader/config",
            &[("Authorization", &bearer), ("X-Api-Key", &api_key)],
            b"",
        )?
        .expect(200, "GET /api/uploader/config")?;
    let lift = json_field(&reply.body, &["lift", "token"])?;
    Ok(Ours {
        _process: process,
        addr,
        api_key,
        token,
        lift,
    })
}

fn json_field(body: &[u8], path: &[&str]) -> Result<String, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("response is not JSON: {e}"))?;
    let mut at = &value;
    for key in path {
        at = &at[key];
    }
    at.as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no {} in {value}", path.join(".")))
}

fn start_peer(node: &Path, www: &Path, dir: &Path) -> Result<(Process, String), String> {
    let port = free_port()?;
    let mut cmd = Command::new(node);
    cmd.arg(www.join("bench/tus_server.mjs"))
        .arg(port.to_string())
        .arg(dir)
        .current_dir(www);
    let (process, ()) = start(cmd, Duration::from_secs(30), |line| {
        line.starts_with("listening ").then_some(())
    })?;
    Ok((process, format!("127.0.0.1:{port}")))
}

/// Every upload of ours complete and verified.
fn check_ours(ours: &Ours, expected: usize, length: usize) -> Result<(), String> {
    let mut conn = Conn::open(&ours.addr)?;
    let reply = conn
        .send("GET", "/api/dev/uploads", &[], b"")?
        .expect(200, "GET /api/dev/uploads")?;
    let dev: Value =
        serde_json::from_slice(&reply.body).map_err(|e| format!("dev uploads: {e}"))?;
    let uploads = dev["uploads"].as_array().cloned().unwrap_or_default();
    let good = uploads
        .iter()
        .filter(|u| {
            u["state"] == "complete" && u["verified"] == true && u["length"] == length as u64
        })
        .count();
    if good == expected {
        Ok(())
    } else {
        Err(format!(
            "auraloader-server stored {good} complete, verified uploads of {expected}"
        ))
    }
}

/// Every upload of the peer's at full length on disk.
fn check_peer(dir: &Path, paths: &[String], length: usize) -> Result<(), String> {
    for path in paths {
        let id = path.trim_start_matches("/files/");
        let size = std::fs::metadata(dir.join(id)).map_or(0, |m| m.len());
        if size != length as u64 {
            return Err(format!(
                "@tus/server stored {size} bytes of upload {id}, wanted {length}"
            ));
        }
    }
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The version field of an installed npm package.
fn npm_version(www: &Path, package: &str) -> String {
    std::fs::read_to_string(www.join("node_modules").join(package).join("package.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn tool_version(program: &Path, arg: &str) -> String {
    util::output(Command::new(program).arg(arg))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn bench(options: &Options) -> Result<(), String> {
    let tools = crate::setup::run(crate::setup::Need::Build)?;
    let root = util::root();
    let www = root.join("www");
    run_cmd(
        util::cargo()
            .args([
                "build",
                "--profile",
                "server-bench",
                "--package",
                "auraloader-server",
                "--bin",
                "auraloader-server",
            ])
            .current_dir(&root),
    )?;
    let binary = root.join("target/server-bench/auraloader-server");
    let load = load_average();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let scratch = Scratch(
        std::env::temp_dir().join(format!("auraloader-bench-server-{}", std::process::id())),
    );
    let peer_dir = scratch.0.join("peer");
    std::fs::create_dir_all(&peer_dir)
        .map_err(|e| format!("cannot create {}: {e}", peer_dir.display()))?;

    let ours = start_ours(&binary, &scratch.0.join("ours"))?;
    let (_peer_process, peer_addr) = start_peer(&tools.node, &www, &peer_dir)?;
    let our_target = Target {
        name: "auraloader-server",
        addr: ours.addr.clone(),
        tus_headers: vec![("Authorization".to_owned(), format!("Bearer {}", ours.lift))],
    };
    let peer_target = Target {
        name: "@tus/server",
        addr: peer_addr.clone(),
        tus_headers: Vec::new(),
    };

    let data = Arc::new(stored_zip(options.size_mib));
    println!(
        "ingest: {} rounds of {} parallel uploads of {} bytes in {} MiB PATCHes",
        options.runs,
        options.uploads,
        data.len(),
        options.chunk_mib
    );
    let mut rounds: [Totals; 2] = Default::default();
    for round in 0..options.runs {
        // Alternate which server goes first, so neither always gets the
        // fresher page cache.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for which in order {
            let target = if which == 0 {
                &our_target
            } else {
                &peer_target
            };
            let result = ingest(target, options, &data)?;
            let rate = result.bytes as f64 / result.seconds / (1024.0 * 1024.0);
            println!(
                "  {}: {:.1} MiB/s ({:.2} s)",
                target.name, rate, result.seconds
            );
            let totals = &mut rounds[which];
            totals.rates.push(rate);
            totals.patch_seconds.extend(result.patch_seconds);
            totals.last_patch_seconds.extend(result.last_patch_seconds);
            totals.paths.extend(result.paths);
        }
    }
    check_ours(&ours, options.uploads * options.runs, data.len())?;
    check_peer(&peer_dir, &rounds[1].paths, data.len())?;

    println!(
        "latency: {} connections for {} s each",
        options.connections, options.seconds
    );
    let config_headers = vec![
        ("Authorization".to_owned(), format!("Bearer {}", ours.token)),
        ("X-Api-Key".to_owned(), ours.api_key.clone()),
    ];
    let config = latency(
        &ours.addr,
        &Probe::Get {
            path: "/api/uploader/config",
            headers: config_headers,
        },
        options,
    )?;
    let ours_head = latency(
        &ours.addr,
        &Probe::HeadOwnUpload(our_target.clone()),
        options,
    )?;
    let theirs_head = latency(
        &peer_addr,
        &Probe::HeadOwnUpload(peer_target.clone()),
        options,
    )?;

    let ms = |s: f64| s * 1000.0;
    let ingest_row = |name: &str, totals: &Totals| {
        let mut sorted = totals.patch_seconds.clone();
        sorted.sort_by(f64::total_cmp);
        format!(
            "| {name} | {:.1} MiB/s | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
            median(totals.rates.clone()),
            totals
                .rates
                .iter()
                .map(|r| format!("{r:.1}"))
                .collect::<Vec<_>>()
                .join(" / "),
            ms(percentile(&sorted, 50.0)),
            ms(percentile(&sorted, 99.0)),
            ms(median(totals.last_patch_seconds.clone())),
        )
    };
    let latency_row = |name: &str, request: &str, l: &Latency| {
        format!(
            "| {name} | `{request}` | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms |",
            l.requests as f64 / l.seconds,
            ms(l.percentile(50.0)),
            ms(l.percentile(99.0)),
            ms(l.sorted.last().copied().unwrap_or(f64::NAN)),
        )
    };
    let load_after = load_average();
    let busy = [&load, &load_after].iter().any(|l| {
        l.split_whitespace()
            .next()
            .and_then(|one| one.parse::<f64>().ok())
            .is_some_and(|one| one > cores as f64)
    });
    let noise = if busy {
        "The machine was busy during this run (a 1-minute load average above its\n\
         CPU count: other work was compiling and testing beside it), so the absolute\n\
         numbers are low and noisy; compare the two servers, which ran side by side."
    } else {
        "Compare the two servers, which ran side by side, rather than the absolute numbers."
    };
    let rustc = tool_version(Path::new("rustc"), "--version");
    let node = tool_version(&tools.node, "--version");
    let peer_versions = format!(
        "@tus/server {} + @tus/file-store {}",
        npm_version(&www, "@tus/server"),
        npm_version(&www, "@tus/file-store")
    );
    let section = format!(
        "{SECTION}

Command: `cargo xtask bench server` (rerunning replaces this section). Date: {date}.
Machine: {cores} CPUs, {cpu}; load average {load} at the start and
{load_after} at the end.
{noise}
{rustc}; Node {node}.

Servers, each on its own loopback port and temporary folder on the same disk:
auraloader-server (cargo profile `server-bench`: release at `opt-level = 3`;
`RUST_LOG=warn`; rate limits raised out of the way) and
{peer_versions}, standalone as in its README (`www/bench/tus_server.mjs`).
Load generator: `xtask/src/bench_server.rs`, Rust std threads, one HTTP/1.1
keep-alive connection per thread, on the same machine.

What each server does per PATCH differs: auraloader-server checks the lift token
(HMAC), the rate limit and the zip magic, fsyncs the bytes before it stores the
offset in SQLite and answers, and when an upload completes it hashes it (SHA-256)
and reads every zip entry to check its CRC before answering; @tus/file-store
appends to a file and does not fsync.

### Ingest

{uploads} parallel uploads of {size} bytes (a stored zip of {mib} entries of 1 MiB),
each as PATCHes of {chunk} MiB on its own connection; {runs} rounds per server,
alternating which server goes first. Rate: all bytes over the time from the first
POST to the last 204. PATCH: one round trip of one chunk, over all rounds,
without each upload's last PATCH, which is shown apart (median): auraloader-server
answers it only after verifying the whole zip.

| server | ingest (median) | rounds (MiB/s) | PATCH p50 | PATCH p99 | last PATCH |
| --- | ---: | --- | ---: | ---: | ---: |
{ours_ingest}
{peer_ingest}

### Latency under load

{connections} connections, each sending the request back to back for {seconds} s
(after 1 s of warm-up). `uploader/config` authenticates the upload token (SQLite)
and the API key, counts one use of the token (an SQLite commit) and mints a lift
token; @tus/server has no such endpoint, so `HEAD` of an upload is measured on
both (each connection creates its own upload first, untimed, so that requests
do not wait for one upload's lock).

| server | request | requests/s | p50 | p99 | max |
| --- | --- | ---: | ---: | ---: | ---: |
{config_row}
{ours_head_row}
{peer_head_row}
",
        date = today(),
        cpu = cpu_model(),
        size = data.len(),
        mib = options.size_mib,
        uploads = options.uploads,
        chunk = options.chunk_mib,
        runs = options.runs,
        connections = options.connections,
        seconds = options.seconds,
        ours_ingest = ingest_row("auraloader-server", &rounds[0]),
        peer_ingest = ingest_row(&peer_versions, &rounds[1]),
        config_row = latency_row("auraloader-server", "GET /api/uploader/config", &config),
        ours_head_row = latency_row("auraloader-server", "HEAD /files/<id>", &ours_head),
        peer_head_row = latency_row(&peer_versions, "HEAD /files/<id>", &theirs_head),
    );
    println!("\n{section}");
    if options.write {
        let path = root.join("BENCHMARKS.md");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        util::write(&path, replace_section(&old, &section))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// `old` with the server section replaced by `section` (or added at the end).
fn replace_section(old: &str, section: &str) -> String {
    let section = section.trim_end();
    let Some(start) = old.find(SECTION) else {
        let base = if old.trim().is_empty() {
            "# Benchmarks\n\nMeasured results, one section per benchmark; each section says the command that produced it.\n".to_owned()
        } else {
            old.trim_end().to_owned() + "\n"
        };
        return format!("{base}\n{section}\n");
    };
    let after = &old[start + SECTION.len()..];
    let end = after
        .find("\n## ")
        .map_or(old.len(), |i| start + SECTION.len() + i + 1);
    format!("{}{section}\n\n{}", &old[..start], &old[end..])
        .trim_end()
        .to_owned()
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_server_section() {
        let old = format!(
            "# Benchmarks\n\n## Scan\n\nscan\n\n{SECTION}\n\nold\n\n### Ingest\n\nt\n\n## Zip\n\nzip\n"
        );
        let new = replace_section(&old, &format!("{SECTION}\n\nnew\n"));
        assert_eq!(
            new,
            format!("# Benchmarks\n\n## Scan\n\nscan\n\n{SECTION}\n\nnew\n\n## Zip\n\nzip\n")
        );
        let added = replace_section(
            "# Benchmarks\n\n## Scan\n\ns\n",
            &format!("{SECTION}\n\nt\n"),
        );
        assert_eq!(
            added,
            format!("# Benchmarks\n\n## Scan\n\ns\n\n{SECTION}\n\nt\n")
        );
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 50.0);
        assert_eq!(percentile(&values, 99.0), 99.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn stored_zip_has_its_end_record_where_readers_look() {
        let zip = stored_zip(2);
        assert_eq!(&zip[..4], b"PK\x03\x04");
        let end = &zip[zip.len() - 22..];
        assert_eq!(&end[..4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([end[10], end[11]]), 2);
        let central = u32::from_le_bytes([end[16], end[17], end[18], end[19]]) as usize;
        assert_eq!(&zip[central..central + 4], b"PK\x01\x02");
    }

    #[test]
    fn parses_options() {
        let args: Vec<String> = ["--uploads", "2", "--size-mib", "4", "--no-write"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let options = Options::from_args(&args).unwrap();
        assert_eq!(
            (options.uploads, options.size_mib, options.write),
            (2, 4, false)
        );
        assert!(Options::from_args(&["--runs".to_owned(), "0".to_owned()]).is_err());
        assert!(Options::from_args(&["--bogus".to_owned()]).is_err());
    }
}
