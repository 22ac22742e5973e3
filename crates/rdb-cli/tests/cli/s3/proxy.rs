//! A small HTTP/1.1 proxy in front of the S3 server, for faults the server cannot be asked
//! to make: answers of our choosing (403, a region redirect) and connections dropped in the
//! middle of a response. Each request is forwarded on a fresh upstream connection; the rule
//! sees every request and says what to do with it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What to do with a request.
pub enum Action {
    /// Pass it to the server and its answer back.
    Forward,
    /// Pass it on, but close the client's connection after this many bytes of the answer.
    CutAfter(usize),
    /// Answer this (a whole HTTP response) without asking the server.
    Respond(String),
}

type Rule = dyn Fn(&Req) -> Action + Send + Sync;

pub struct Proxy {
    pub port: u16,
    pub log: Arc<Mutex<Vec<Req>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(upstream: u16, rule: impl Fn(&Req) -> Action + Send + Sync + 'static) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let rule: Arc<Rule> = Arc::new(rule);
        let (log2, stop2) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (rule, log) = (rule.clone(), log2.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, upstream, &*rule, &log);
                });
            }
        });
        Proxy { port, log, stop }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// The first line of a request or response, and its headers.
type Head = (String, Vec<(String, String)>);

/// Reads a head; `None` at the end of the stream.
fn read_head(r: &mut impl BufRead) -> std::io::Result<Option<Head>> {
    let mut first = String::new();
    if r.read_line(&mut first)? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    Ok(Some((first.trim_end().to_string(), headers)))
}

fn content_length(headers: &[(String, String)]) -> usize {
    headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

fn serve(
    client: TcpStream,
    upstream: u16,
    rule: &Rule,
    log: &Mutex<Vec<Req>>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    while let Some((line, headers)) = read_head(&mut reader)? {
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let mut body = vec![0u8; content_length(&headers)];
        reader.read_exact(&mut body)?;
        let req = Req {
            method: method.clone(),
            target,
            headers: headers.clone(),
        };
        log.lock().unwrap().push(req.clone());
        let cut = match rule(&req) {
            Action::Respond(raw) => {
                client.write_all(raw.as_bytes())?;
                continue;
            }
            Action::Forward => None,
            Action::CutAfter(n) => Some(n),
        };
        // Forward on a fresh connection that the server closes after its answer.
        let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
        let mut head = format!("{line}\r\n");
        for (k, v) in headers.iter().filter(|(k, _)| k != "connection") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("connection: close\r\n\r\n");
        up.write_all(head.as_bytes())?;
        up.write_all(&body)?;
        let mut up_reader = BufReader::new(up);
        let Some((status, rheaders)) = read_head(&mut up_reader)? else {
            return Ok(());
        };
        let code: u16 = status
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let has_body = method != "HEAD" && code != 204 && code != 304;
        let mut rbody = vec![
            0u8;
            if has_body {
                content_length(&rheaders)
            } else {
                0
            }
        ];
        up_reader.read_exact(&mut rbody)?;
        let mut out = format!("{status}\r\n").into_bytes();
        for (k, v) in rheaders.iter().filter(|(k, _)| k != "connection") {
            out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&rbody);
        match cut {
            Some(n) if n < out.len() => {
                client.write_all(&out[..n])?;
                client.flush()?;
                let _ = client.shutdown(Shutdown::Both);
                return Ok(());
            }
            _ => client.write_all(&out)?,
        }
    }
    Ok(())
}

/// An S3 error response.
pub fn s3_error(status: &str, code: &str, extra_headers: &str, head_only: bool) -> String {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{code}</Message></Error>"
    );
    let body = if head_only { String::new() } else { body };
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/xml\r\n{extra_headers}content-length: {}\r\n\r\n{body}",
        body.len()
    )
}
