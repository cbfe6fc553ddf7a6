//! A webhook receiver on 127.0.0.1 for the daemon's tests: it records
//! every request (headers and body), answers from a script (status and
//! headers, one answer per request, then `200`), and checks signatures the
//! way the documentation tells receivers to, with its own HMAC-SHA256
//! (RFC 2104 over `sha2`), not the daemon's code.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sha2::{Digest, Sha256};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

impl Hit {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// Whether `Sluice-Signature` is `v1=` HMAC-SHA256(`secret`,
    /// `<Sluice-Timestamp>.<body>`) and the timestamp is within five
    /// minutes of now.
    pub fn signed_with(&self, secret: &str) -> bool {
        let (Some(sig), Some(ts)) = (
            self.header("sluice-signature"),
            self.header("sluice-timestamp"),
        ) else {
            return false;
        };
        let Ok(ts_n) = ts.parse::<i64>() else {
            return false;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        if (now - ts_n).abs() > 300 {
            return false;
        }
        let mut message = format!("{ts}.").into_bytes();
        message.extend_from_slice(&self.body);
        sig == format!(
            "v1={}",
            hex::encode(hmac_sha256(secret.as_bytes(), &message))
        )
    }
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| block.iter().map(|k| k ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// An answer: status, extra headers, body.
pub type Answer = (u16, Vec<(String, String)>, String);

/// The receiver; it stops when the test process ends.
pub struct WebhookReceiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
    /// Answers for one event (`Sluice-Event`), used before `script`:
    /// events sent at the same moment arrive in any order.
    by_event: Arc<Mutex<Vec<(String, Answer)>>>,
}

impl WebhookReceiver {
    /// Start a receiver answering `script` in order, then `200`.
    pub fn start(script: Vec<Answer>) -> Self {
        Self::on(TcpListener::bind("127.0.0.1:0").unwrap(), script)
    }

    /// Start one on `listener`.
    pub fn on(listener: TcpListener, script: Vec<Answer>) -> Self {
        let url = format!("http://{}/hooks/sluice", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let by_event: Arc<Mutex<Vec<(String, Answer)>>> = Arc::new(Mutex::new(Vec::new()));
        let (log, answers, for_event) = (hits.clone(), script.clone(), by_event.clone());
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
                        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                    }
                }
                let length: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let event = headers
                    .iter()
                    .find(|(k, _)| k == "sluice-event")
                    .map(|(_, v)| v.clone());
                log.lock().unwrap().push(Hit {
                    headers,
                    body,
                    at: Instant::now(),
                });
                let scripted = {
                    let mut for_event = for_event.lock().unwrap();
                    let at = for_event
                        .iter()
                        .position(|(e, _)| Some(e) == event.as_ref());
                    at.map(|i| for_event.remove(i).1)
                };
                let (status, extra, body) = scripted
                    .or_else(|| answers.lock().unwrap().pop_front())
                    .unwrap_or((200, Vec::new(), "ok".into()));
                let extra: String = extra.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        WebhookReceiver {
            url,
            hits,
            script,
            by_event,
        }
    }

    /// The URL to configure.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The requests received so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// The requests received for `event`.
    pub fn hits_for(&self, event: &str) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| h.header("sluice-event") == Some(event))
            .collect()
    }

    /// Answer the next requests for `event` with `answers`, whatever
    /// other events arrive in between.
    pub fn push_for(&self, event: &str, answers: Vec<Answer>) {
        let mut by_event = self.by_event.lock().unwrap();
        by_event.extend(answers.into_iter().map(|a| (event.to_owned(), a)));
    }

    /// Answer the next requests with `answers` (before the default `200`).
    pub fn push(&self, answers: Vec<Answer>) {
        self.script.lock().unwrap().extend(answers);
    }
}

#[test]
fn hmac_matches_rfc_4231_case_2() {
    assert_eq!(
        hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}
