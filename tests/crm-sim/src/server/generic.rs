//! A generic JSON API beside the CRM, for the `rest` connectors: one
//! in-memory item store under `/api/...`, listed with four pagination
//! styles (see the crate README, "Generic REST").
//!
//! Declared inside `server` so it shares the CRM's authentication, scopes,
//! fault injection and clock.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::State;
use super::responses::json_response;
use super::route::Access;
use crate::CrmSim;
use crate::util::{
    format_iso_ms, looks_like_email, parse_form, parse_timestamp_ms, percent_encode,
};

/// The default and largest page sizes of the list endpoints.
const DEFAULT_PAGE: usize = 10;
const MAX_PAGE: usize = 100;

/// An item of the generic API, as the simulator stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Numeric id as a string (`"1"`, `"2"`, ...), never reused.
    pub id: String,
    /// The fields clients wrote (without `id`, `createdAt`, `updatedAt`).
    pub fields: Map<String, Value>,
    /// Creation time, `2024-05-01T10:00:00.123Z`.
    pub created_at: String,
    /// Last modification time, same format; strictly increasing across all
    /// writes of one simulator (items and contacts share the clock).
    pub updated_at: String,
}

impl Item {
    /// The `email` field, if it is text.
    pub fn email(&self) -> Option<&str> {
        self.fields.get("email").and_then(Value::as_str)
    }
}

#[derive(Debug, Clone)]
struct StoredItem {
    fields: Map<String, Value>,
    created_ms: u64,
    updated_ms: u64,
}

/// The item store.
#[derive(Debug, Default)]
pub(crate) struct Items {
    items: BTreeMap<u64, StoredItem>,
    next_id: u64,
}

impl CrmSim {
    /// The generic API's items, sorted by (numeric) id.
    pub fn items(&self) -> Vec<Item> {
        let st = self.lock();
        st.items
            .items
            .iter()
            .map(|(id, item)| public(*id, item))
            .collect()
    }

    /// Adds an item with these fields (an object; `id`, `createdAt` and
    /// `updatedAt` are ignored), as if created through the API but without
    /// its checks.
    pub fn add_item(&self, fields: Value) -> Item {
        let mut st = self.lock();
        let id = st.create_item(clean(fields));
        public(id, &st.items.items[&id])
    }

    /// Changes fields of an item (merged over its fields) and bumps its
    /// `updatedAt`; `None` when there is no such item.
    pub fn update_item(&self, id: &str, fields: Value) -> Option<Item> {
        let mut st = self.lock();
        let id = id.parse::<u64>().ok()?;
        st.patch_item(id, clean(fields))?;
        Some(public(id, &st.items.items[&id]))
    }

    /// Deletes an item; false when there is no such item.
    pub fn delete_item(&self, id: &str) -> bool {
        let mut st = self.lock();
        id.parse::<u64>()
            .ok()
            .and_then(|id| st.items.items.remove(&id))
            .is_some()
    }
}

fn public(id: u64, item: &StoredItem) -> Item {
    Item {
        id: id.to_string(),
        fields: item.fields.clone(),
        created_at: format_iso_ms(item.created_ms),
        updated_at: format_iso_ms(item.updated_ms),
    }
}

/// The writable fields of a body: an object without the system fields.
fn clean(fields: Value) -> Map<String, Value> {
    let mut map = match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    for system in ["id", "createdAt", "updatedAt"] {
        map.remove(system);
    }
    map
}

fn email_key(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .map(|email| email.trim().to_lowercase())
}

fn api_error(status: u16, code: &str, message: impl Into<String>) -> Response {
    json_response(status, &json!({"error": code, "message": message.into()}))
}

/// Which list endpoint: how it pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Offset,
    Page,
    Cursor,
    Link,
}

impl State {
    /// Handles `/api/...`: the CRM's credentials and scopes (reads need the
    /// read scope, writes the write scope), its faults, then the route.
    pub(crate) fn respond_generic(
        &mut self,
        method: &Method,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        if let Some(response) = self.reject_credentials(headers) {
            return response;
        }
        let access = if *method == Method::GET {
            Access::Read
        } else {
            Access::Write
        };
        if let Some(response) = self.reject_scopes(access) {
            return response;
        }
        let family = if access == Access::Read {
            "items.read"
        } else {
            "items.write"
        };
        if let Some(response) = self.inject_transient(family) {
            return response;
        }
        let path = path.trim_end_matches('/');
        let list = |style| (style, Method::GET);
        let style = match path {
            "/api/items" if *method == Method::GET => Some(list(Style::Plain)),
            "/api/offset/items" => Some(list(Style::Offset)),
            "/api/page/items" => Some(list(Style::Page)),
            "/api/cursor/items" => Some(list(Style::Cursor)),
            "/api/link/items" => Some(list(Style::Link)),
            _ => None,
        };
        if let Some((style, allowed)) = style {
            if *method != allowed {
                return api_error(405, "method-not-allowed", format!("{method} {path}"));
            }
            return self.list_items(style, path, query);
        }
        match (path, method.clone()) {
            ("/api/items", Method::POST) => self.create_item_request(body),
            ("/api/items/batch", Method::POST) => self.batch_items(body),
            _ => match path.strip_prefix("/api/items/").map(str::parse::<u64>) {
                Some(Ok(id)) => match *method {
                    Method::GET => match self.items.items.get(&id) {
                        Some(item) => json_response(200, &render(id, item)),
                        None => api_error(404, "not-found", format!("no item {id}")),
                    },
                    Method::PATCH | Method::PUT => self.patch_item_request(id, body),
                    Method::DELETE => match self.items.items.remove(&id) {
                        Some(_) => json_response(200, &json!({"deleted": id.to_string()})),
                        None => api_error(404, "not-found", format!("no item {id}")),
                    },
                    _ => api_error(405, "method-not-allowed", format!("{method} {path}")),
                },
                _ => api_error(
                    404,
                    "not-found",
                    format!("no such endpoint: {method} {path}"),
                ),
            },
        }
    }

    fn create_item(&mut self, fields: Map<String, Value>) -> u64 {
        let now = self.tick();
        self.items.next_id += 1;
        let id = self.items.next_id;
        self.items.items.insert(
            id,
            StoredItem {
                fields,
                created_ms: now,
                updated_ms: now,
            },
        );
        id
    }

    fn patch_item(&mut self, id: u64, fields: Map<String, Value>) -> Option<()> {
        let now = self.tick();
        let item = self.items.items.get_mut(&id)?;
        item.fields.extend(fields);
        item.updated_ms = now;
        Some(())
    }

    /// The id of the item with this email (case-insensitive), if any.
    fn item_by_email(&self, email: &str) -> Option<u64> {
        self.items
            .items
            .iter()
            .find(|(_, item)| email_key(item.fields.get("email")).as_deref() == Some(email))
            .map(|(id, _)| *id)
    }

    /// Checks one input of a create: an object with a valid, unused email.
    fn check_new(&self, body: &Value) -> Result<Map<String, Value>, (u16, &'static str, String)> {
        let Value::Object(_) = body else {
            return Err((400, "invalid", "the body must be a JSON object".to_owned()));
        };
        let fields = clean(body.clone());
        let Some(email) = email_key(fields.get("email")).filter(|e| looks_like_email(e)) else {
            return Err((
                422,
                "invalid",
                "`email` is required and must be an email address".to_owned(),
            ));
        };
        if let Some(existing) = self.item_by_email(&email) {
            return Err((
                409,
                "duplicate",
                format!("duplicate: an item with email {email} already exists (id {existing})"),
            ));
        }
        Ok(fields)
    }

    fn create_item_request(&mut self, body: &[u8]) -> Response {
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return api_error(400, "invalid", "the body is not JSON");
        };
        match self.check_new(&body) {
            Ok(fields) => {
                let id = self.create_item(fields);
                json_response(201, &render(id, &self.items.items[&id]))
            }
            Err((status, code, message)) => api_error(status, code, message),
        }
    }

    fn patch_item_request(&mut self, id: u64, body: &[u8]) -> Response {
        if !self.items.items.contains_key(&id) {
            return api_error(404, "not-found", format!("no item {id}"));
        }
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
            return api_error(400, "invalid", "the body must be a JSON object");
        };
        let fields = clean(Value::Object(body));
        if fields.contains_key("email") {
            match email_key(fields.get("email")).filter(|e| looks_like_email(e)) {
                None => {
                    return api_error(422, "invalid", "`email` must be an email address");
                }
                Some(email) => {
                    if let Some(other) = self.item_by_email(&email).filter(|o| *o != id) {
                        return api_error(
                            409,
                            "duplicate",
                            format!("duplicate: item {other} already has email {email}"),
                        );
                    }
                }
            }
        }
        self.patch_item(id, fields);
        json_response(200, &render(id, &self.items.items[&id]))
    }

    /// `POST /api/items/batch` `{"inputs": [...]}`: creates each input;
    /// `{"results": [{"index", "id", "item"}], "errors": [{"index",
    /// "status", "code", "message"}]}`.
    fn batch_items(&mut self, body: &[u8]) -> Response {
        let inputs = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(mut map)) => match map.remove("inputs") {
                Some(Value::Array(inputs)) if inputs.len() <= MAX_PAGE => inputs,
                _ => {
                    return api_error(
                        400,
                        "invalid",
                        format!("`inputs` must be a list of at most {MAX_PAGE} items"),
                    );
                }
            },
            _ => return api_error(400, "invalid", "the body must be a JSON object"),
        };
        let mut results = Vec::new();
        let mut errors = Vec::new();
        for (index, input) in inputs.iter().enumerate() {
            match self.check_new(input) {
                Ok(fields) => {
                    let id = self.create_item(fields);
                    results.push(json!({"index": index, "id": id.to_string(),
                                        "item": render(id, &self.items.items[&id])}));
                }
                Err((status, code, message)) => errors.push(
                    json!({"index": index, "status": status, "code": code, "message": message}),
                ),
            }
        }
        json_response(200, &json!({"results": results, "errors": errors}))
    }

    /// The list endpoints.
    fn list_items(&mut self, style: Style, path: &str, query: &str) -> Response {
        let params = parse_form(query);
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let number = |name: &str, default: usize, min: usize, max: usize| match param(name) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(format!(
                    "`{name}` must be a number from {min} to {max}; got {v:?}"
                )),
            },
        };
        let since = match param("updated_since") {
            None => None,
            Some(v) => match parse_timestamp_ms(v) {
                Some(ms) => Some(ms),
                None => {
                    return api_error(
                        400,
                        "invalid",
                        format!("`updated_since` must be a timestamp; got {v:?}"),
                    );
                }
            },
        };
        let email = param("email").map(|e| e.trim().to_lowercase());
        let matching: Vec<(u64, &StoredItem)> = self
            .items
            .items
            .iter()
            .filter(|(_, item)| since.is_none_or(|s| item.updated_ms > s))
            .filter(|(_, item)| email.is_none() || email_key(item.fields.get("email")) == email)
            .map(|(id, item)| (*id, item))
            .collect();
        let (start, size) = match style {
            Style::Plain | Style::Offset => {
                let offset = match number("offset", 0, 0, usize::MAX) {
                    Ok(n) => n,
                    Err(message) => return api_error(400, "invalid", message),
                };
                let default = if style == Style::Plain {
                    usize::MAX
                } else {
                    DEFAULT_PAGE
                };
                let max = if style == Style::Plain {
                    usize::MAX
                } else {
                    MAX_PAGE
                };
                match number("limit", default, 1, max) {
                    Ok(limit) => (offset, limit),
                    Err(message) => return api_error(400, "invalid", message),
                }
            }
            Style::Page | Style::Link => {
                let page = match number("page", 1, 1, usize::MAX) {
                    Ok(n) => n,
                    Err(message) => return api_error(400, "invalid", message),
                };
                match number("per_page", DEFAULT_PAGE, 1, MAX_PAGE) {
                    Ok(per_page) => ((page - 1).saturating_mul(per_page), per_page),
                    Err(message) => return api_error(400, "invalid", message),
                }
            }
            Style::Cursor => {
                let after = match param("after") {
                    None => 0,
                    Some(token) => {
                        match token.strip_prefix("c").and_then(|n| n.parse::<u64>().ok()) {
                            Some(id) => id,
                            None => {
                                return api_error(
                                    400,
                                    "invalid",
                                    format!(
                                        "`after` must be the `next` of a previous page; got {token:?}"
                                    ),
                                );
                            }
                        }
                    }
                };
                let start = matching
                    .iter()
                    .position(|(id, _)| *id > after)
                    .unwrap_or(matching.len());
                match number("limit", DEFAULT_PAGE, 1, MAX_PAGE) {
                    Ok(limit) => (start, limit),
                    Err(message) => return api_error(400, "invalid", message),
                }
            }
        };
        let page: Vec<Value> = matching
            .iter()
            .skip(start)
            .take(size)
            .map(|(id, item)| render(*id, item))
            .collect();
        let more = start.saturating_add(size) < matching.len();
        match style {
            Style::Plain => json_response(200, &json!({"data": page})),
            Style::Offset => json_response(200, &Value::Array(page)),
            Style::Page => {
                let number = start / size + 1;
                json_response(
                    200,
                    &json!({"results": page, "page": number, "total": matching.len()}),
                )
            }
            Style::Cursor => {
                let next = if more {
                    matching
                        .get(start + size - 1)
                        .map(|(id, _)| Value::String(format!("c{id}")))
                        .unwrap_or(Value::Null)
                } else {
                    Value::Null
                };
                json_response(200, &json!({"data": page, "next": next}))
            }
            Style::Link => {
                let number = start / size + 1;
                let url = |page: usize| {
                    let mut url = format!("{}{path}?page={page}&per_page={size}", self.base_url);
                    if let Some(since) = param("updated_since") {
                        url.push_str("&updated_since=");
                        url.push_str(&percent_encode(since));
                    }
                    url
                };
                let mut links = vec![format!("<{}>; rel=\"first\"", url(1))];
                if more {
                    links.push(format!("<{}>; rel=\"next\"", url(number + 1)));
                }
                let mut response = json_response(200, &Value::Array(page));
                if let Ok(value) = HeaderValue::from_str(&links.join(", ")) {
                    response.headers_mut().insert(header::LINK, value);
                }
                response
            }
        }
    }
}

/// An item as the API renders it: its fields, `id`, `createdAt`,
/// `updatedAt`.
fn render(id: u64, item: &StoredItem) -> Value {
    let mut body = item.fields.clone();
    body.insert("id".to_owned(), Value::String(id.to_string()));
    body.insert(
        "createdAt".to_owned(),
        Value::String(format_iso_ms(item.created_ms)),
    );
    body.insert(
        "updatedAt".to_owned(),
        Value::String(format_iso_ms(item.updated_ms)),
    );
    Value::Object(body)
}
