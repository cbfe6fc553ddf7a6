//! A tiny HTTP server on 127.0.0.1 that records every request's headers and
//! answers each with a body built from them, for the tests of what the host
//! sends and what it keeps of what a server sends back.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One request as received: its request line and headers, in order.
#[derive(Debug, Clone)]
pub struct Received {
    /// `GET /path HTTP/1.1`.
    pub line: String,
    /// Header names and values as sent.
    pub headers: Vec<(String, String)>,
}

impl Received {
    /// Every value of header `name` (case-insensitive).
    pub fn values(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// The server; it stops when the test process ends.
pub struct EchoServer {
    base: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl EchoServer {
    /// Start a server answering `200` with `respond(request)` as a JSON body.
    pub fn start(respond: impl Fn(&Received) -> String + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.trim_end().split_once(':') {
                        headers.push((k.trim().to_owned(), v.trim().to_owned()));
                    }
                }
                let request = Received {
                    line: line.trim_end().to_owned(),
                    headers,
                };
                let body = respond(&request);
                log.lock().unwrap().push(request);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        EchoServer { base, received }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}
