//! Strict mode: requests checked against the OpenAPI document.

use axum::http::Method;
use axum::response::Response;
use serde_json::json;

use super::State;
use super::responses::json_response;

impl State {
    /// Strict mode: the 400 for a request that does not conform to the
    /// OpenAPI document, in HubSpot's shape, if it does not.
    pub(super) fn reject_nonconforming(
        &mut self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Option<Response> {
        let spec = self.config.openapi.clone()?;
        let problems = spec.check(method.as_str(), path, query, body);
        if problems.is_empty() {
            return None;
        }
        for problem in &problems {
            self.spec_violations
                .push(format!("{method} {path}: {problem}"));
        }
        let mut body = self.error_body(
            "VALIDATION_ERROR",
            format!(
                "Invalid input JSON: the request does not conform to the API: {}",
                problems.join("; ")
            ),
        );
        body["context"] = json!({ "problems": problems });
        Some(json_response(400, &body))
    }
}
