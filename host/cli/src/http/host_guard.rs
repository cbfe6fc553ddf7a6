//! The `Host` check every HTTP route of Sluice (the daemon's API, the
//! dashboard) sits behind.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Refuse requests whose `Host` is a domain name (other than `localhost`):
/// a browser sends the page's own domain, which DNS rebinding can point at
/// 127.0.0.1.
pub async fn host_guard(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if host_is_an_address(host) {
        next.run(request).await
    } else {
        let body = serde_json::json!({
            "error": "the Host header must be an IP address or `localhost`: Sluice does not answer requests made through a domain name"
        });
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

/// Whether a `Host` header value (`name[:port]`) is an IP address or
/// `localhost`.
fn host_is_an_address(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // `[v6]` or `[v6]:port`
        Some(rest) => match rest.split_once(']') {
            Some((v6, port)) if port.is_empty() || port.starts_with(':') => {
                return v6.parse::<std::net::Ipv6Addr>().is_ok();
            }
            _ => return false,
        },
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::host_is_an_address;

    #[test]
    fn only_addresses_and_localhost_are_hosts() {
        for ok in [
            "127.0.0.1:7420",
            "127.0.0.1",
            "localhost:7420",
            "LOCALHOST",
            "[::1]:7420",
            "[::1]",
            "10.0.0.5:80",
        ] {
            assert!(host_is_an_address(ok), "{ok}");
        }
        for refused in [
            "",
            "evil.example:7420",
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.nip.io:7420",
            "[::1]x",
            "[evil]:1",
        ] {
            assert!(!host_is_an_address(refused), "{refused}");
        }
    }
}
