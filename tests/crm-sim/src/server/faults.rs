//! Injected faults: rate limits (secondly or daily, with `Retry-After`),
//! canceled batches and bad gateways, every Nth request of a route family.

use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde_json::json;

use super::State;
use super::responses::{json_response, response};
use crate::util::{format_iso_ms, system_now_ms};

impl State {
    pub(super) fn inject_transient(&mut self, family: &'static str) -> Option<Response> {
        let n = {
            let count = self.counters.entry(family).or_insert(0);
            *count += 1;
            *count
        };
        let hits = |every: Option<u32>| every.is_some_and(|k| k > 0 && n % u64::from(k) == 0);
        if hits(self.faults.rate_limit_every) {
            let policy = self
                .faults
                .rate_limit_policy
                .clone()
                .unwrap_or_else(|| "SECONDLY".to_owned());
            let daily = policy == "DAILY";
            let message = if daily {
                "You have reached your daily limit.".to_owned()
            } else {
                format!("You have reached your {} limit.", policy.to_lowercase())
            };
            let body = json!({
                "status": "error",
                "message": message,
                "errorType": "RATE_LIMIT",
                "correlationId": self.correlation_id(),
                "policyName": policy,
                "category": "RATE_LIMITS",
            });
            if daily {
                return Some(json_response(429, &body));
            }
            let mut response = json_response(429, &body);
            let h = response.headers_mut();
            h.insert(
                header::RETRY_AFTER,
                HeaderValue::from(self.faults.retry_after_secs),
            );
            h.insert(
                "x-hubspot-ratelimit-secondly",
                HeaderValue::from_static("10"),
            );
            h.insert(
                "x-hubspot-ratelimit-secondly-remaining",
                HeaderValue::from_static("0"),
            );
            return Some(response);
        }
        if family.starts_with("contacts.batch.") {
            let n = {
                let count = self.counters.entry("contacts.batch").or_insert(0);
                *count += 1;
                *count
            };
            if self
                .faults
                .cancel_batch_every
                .is_some_and(|k| k > 0 && n % u64::from(k) == 0)
            {
                let now = format_iso_ms(system_now_ms());
                let body = json!({
                    "status": "CANCELED", "results": [], "startedAt": now, "completedAt": now,
                });
                return Some(json_response(200, &body));
            }
        }
        if hits(self.faults.bad_gateway_every) {
            let html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
                        <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>sluice-crm-sim \
                        edge</center>\r\n</body>\r\n</html>\r\n";
            return Some(response(502, "text/html; charset=utf-8", html.to_owned()));
        }
        None
    }
}
