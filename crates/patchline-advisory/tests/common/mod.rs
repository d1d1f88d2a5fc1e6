//! Shared helpers of the advisory tests: independent counts, zips, and a small HTTP server
//! for `db update`. The real data is located by patchline-test-support.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

pub fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `*.json` files directly in `dir`, sorted.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

/// The ids of the OSV records in `dir` (one record per file), read generically.
pub fn osv_ids(dir: &Path) -> BTreeSet<String> {
    json_files(dir)
        .iter()
        .map(|f| json(f)["id"].as_str().unwrap().to_string())
        .collect()
}

/// A zip archive of `files`, named by their file names (as osv.dev's all.zip is).
pub fn zip_of(files: &[PathBuf]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for f in files {
            z.start_file(f.file_name().unwrap().to_string_lossy().into_owned(), opts)
                .unwrap();
            z.write_all(&std::fs::read(f).unwrap()).unwrap();
        }
        z.finish().unwrap();
    }
    out.into_inner()
}

/// A zip archive of named in-memory members.
pub fn zip_members(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, body) in members {
            z.start_file(name.to_string(), opts).unwrap();
            z.write_all(body).unwrap();
        }
        z.finish().unwrap();
    }
    out.into_inner()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// An EPSS file in the published layout (comment line, header, rows).
pub fn epss_csv(rows: &[(&str, f64, f64)]) -> String {
    let mut s = String::from(
        "#model_version:v2023.03.01,score_date:2024-05-02T00:00:00+0000\ncve,epss,percentile\n",
    );
    for (id, e, p) in rows {
        s.push_str(&format!("{id},{e:.5},{p:.5}\n"));
    }
    s
}

// ---------------------------------------------------------------------------------------
// A minimal HTTP/1.1 server for the update tests: GET only, one request per connection,
// ETag / If-None-Match, Range / If-Range, and injected failures.

#[derive(Clone, Debug)]
pub struct Resource {
    pub body: Vec<u8>,
    pub etag: String,
    pub last_modified: String,
}

/// What the next response(s) for a path do instead of the normal answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this status and a short body.
    Status(u16),
    /// Announce the full Content-Length (or the range's), send only this many body bytes,
    /// then close.
    Truncate(usize),
}

#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    pub headers: BTreeMap<String, String>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

#[derive(Default)]
pub struct State {
    pub resources: BTreeMap<String, Resource>,
    /// Faults applied once each, in order, to requests of the path.
    pub faults: BTreeMap<String, Vec<Fault>>,
    pub log: Vec<Request>,
    /// Whether Range requests are honoured.
    pub ranges: bool,
}

pub struct Server {
    pub base: String,
    pub state: Arc<Mutex<State>>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            ranges: true,
            ..State::default()
        }));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &st);
                });
            }
        });
        Server { base, state }
    }

    pub fn put(&self, path: &str, body: Vec<u8>, etag: &str) {
        self.state.lock().unwrap().resources.insert(
            path.to_string(),
            Resource {
                body,
                etag: format!("\"{etag}\""),
                last_modified: "Wed, 01 May 2024 10:00:00 GMT".into(),
            },
        );
    }

    pub fn fault(&self, path: &str, f: Fault) {
        self.state
            .lock()
            .unwrap()
            .faults
            .entry(path.to_string())
            .or_default()
            .push(f);
    }

    /// Requests seen so far for `path`, then forgets them.
    pub fn take_log(&self, path: &str) -> Vec<Request> {
        let mut st = self.state.lock().unwrap();
        let (mine, rest) = st.log.drain(..).partition(|r| r.path == path);
        st.log = rest;
        mine
    }
}

fn serve(conn: TcpStream, state: &Arc<Mutex<State>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let req = Request {
        path: path.clone(),
        headers,
    };
    let (res, fault, ranges) = {
        let mut st = state.lock().unwrap();
        st.log.push(req.clone());
        let fault = st.faults.get_mut(&path).and_then(|v| {
            if v.is_empty() {
                None
            } else {
                Some(v.remove(0))
            }
        });
        (st.resources.get(&path).cloned(), fault, st.ranges)
    };
    let mut out = conn;
    let send =
        |out: &mut TcpStream, status: &str, hdrs: &[(String, String)], body: &[u8], len: usize| {
            let mut head =
                format!("HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {len}\r\n");
            for (k, v) in hdrs {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            out.write_all(head.as_bytes())?;
            out.write_all(body)?;
            out.flush()
        };
    if let Some(Fault::Status(code)) = fault {
        let body = b"injected failure";
        return send(&mut out, &format!("{code} Injected"), &[], body, body.len());
    }
    let Some(res) = res else {
        return send(&mut out, "404 Not Found", &[], b"", 0);
    };
    let validators = vec![
        ("ETag".to_string(), res.etag.clone()),
        ("Last-Modified".to_string(), res.last_modified.clone()),
    ];
    if req.header("if-none-match") == Some(res.etag.as_str()) {
        return send(&mut out, "304 Not Modified", &validators, b"", 0);
    }
    let mut status = "200 OK".to_string();
    let mut body: &[u8] = &res.body;
    let mut hdrs = validators.clone();
    if let (true, Some(range)) = (ranges, req.header("range")) {
        let if_range_ok = match req.header("if-range") {
            None => true,
            Some(v) => v == res.etag || v == res.last_modified,
        };
        let start: Option<usize> = range
            .strip_prefix("bytes=")
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|s| s.parse().ok());
        if let (true, Some(start)) = (if_range_ok, start) {
            if start >= res.body.len() {
                return send(&mut out, "416 Range Not Satisfiable", &[], b"", 0);
            }
            status = "206 Partial Content".into();
            hdrs.push((
                "Content-Range".into(),
                format!("bytes {start}-{}/{}", res.body.len() - 1, res.body.len()),
            ));
            body = &res.body[start..];
        }
    }
    match fault {
        Some(Fault::Truncate(n)) => {
            let n = n.min(body.len());
            send(&mut out, &status, &hdrs, &body[..n], body.len())
        }
        _ => send(&mut out, &status, &hdrs, body, body.len()),
    }
}

/// Reads a whole stream (for tests that fetch by hand).
pub fn read_all(mut r: impl Read) -> Vec<u8> {
    let mut v = Vec::new();
    r.read_to_end(&mut v).unwrap();
    v
}
