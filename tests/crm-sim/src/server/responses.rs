//! Building responses: HubSpot's error body (with a correlation id) and
//! JSON or plain bodies.

use axum::body::Body;
use axum::http::header;
use axum::response::Response;
use serde_json::{Value, json};

use super::State;

impl State {
    pub(super) fn error_body(&mut self, category: &str, message: impl Into<String>) -> Value {
        json!({
            "status": "error",
            "message": message.into(),
            "correlationId": self.correlation_id(),
            "category": category,
        })
    }

    pub(super) fn error(
        &mut self,
        status: u16,
        category: &str,
        message: impl Into<String>,
    ) -> Response {
        let body = self.error_body(category, message);
        json_response(status, &body)
    }

    pub(super) fn validation_error(&mut self, message: impl Into<String>) -> Response {
        self.error(400, "VALIDATION_ERROR", message)
    }

    pub(super) fn too_large(&mut self, size: Option<usize>) -> Response {
        let size = size.map_or_else(|| "more than 64 MiB".to_owned(), |n| format!("{n} bytes"));
        self.error(
            413,
            "PAYLOAD_TOO_LARGE",
            format!("The request body is too large ({size}); the limit is 1 MiB (1048576 bytes)."),
        )
    }
}

pub(super) fn response(status: u16, content_type: &str, body: String) -> Response {
    let mut builder = Response::builder().status(status);
    if !content_type.is_empty() {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    builder
        .body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

pub(super) fn json_response(status: u16, body: &Value) -> Response {
    response(status, "application/json;charset=utf-8", body.to_string())
}
