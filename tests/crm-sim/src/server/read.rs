//! Reads: rendering a contact, listing (paged by an opaque token) and
//! getting one by id or email.

use serde_json::{Map, Value, json};

use super::responses::json_response;
use super::{
    CONTACTS, DEFAULT_LIMIT, DEFAULT_READ_PROPERTIES, MAX_LIST_LIMIT, State, StoredContact,
};
use crate::util::{base64_decode, base64_encode, format_iso_ms, parse_form, percent_encode};
use axum::response::Response;

/// Which properties to render.
#[derive(Debug, Clone, Copy)]
pub(super) enum Selection<'a> {
    All,
    Only(&'a [String]),
}

impl State {
    pub(super) fn render(&self, id: u64, c: &StoredContact, selection: Selection<'_>) -> Value {
        let mut props = Map::new();
        match selection {
            Selection::All => props.extend(c.properties.clone()),
            Selection::Only(names) => {
                for name in names {
                    let value = c.properties.get(name).cloned().unwrap_or(Value::Null);
                    props.insert(name.clone(), value);
                }
            }
        }
        props.insert("createdate".into(), format_iso_ms(c.created_ms).into());
        props.insert(
            "lastmodifieddate".into(),
            format_iso_ms(c.updated_ms).into(),
        );
        props.insert("hs_object_id".into(), id.to_string().into());
        let mut out = json!({
            "id": id.to_string(),
            "properties": props,
            "createdAt": format_iso_ms(c.created_ms),
            "updatedAt": format_iso_ms(c.updated_ms),
            "archived": c.archived,
        });
        if let Some(ms) = c.archived_ms {
            out["archivedAt"] = format_iso_ms(ms).into();
        }
        out
    }

    pub(super) fn list(&mut self, query: &str) -> Response {
        let mut limit = DEFAULT_LIMIT;
        let mut after: Option<u64> = None;
        let mut properties: Vec<String> = Vec::new();
        let mut archived = false;
        for (key, value) in parse_form(query) {
            match key.as_str() {
                "limit" => match value.parse::<usize>() {
                    Ok(n) if (1..=MAX_LIST_LIMIT).contains(&n) => limit = n,
                    _ => {
                        return self.validation_error(format!(
                            "limit must be a number from 1 to {MAX_LIST_LIMIT}; got {value:?}."
                        ));
                    }
                },
                "after" => match decode_list_token(&value) {
                    Some(n) => after = Some(n),
                    None => {
                        return self.validation_error(format!(
                            "after must be the paging.next.after value of a previous page; got {value:?}."
                        ));
                    }
                },
                "properties" => properties.extend(split_names(&value)),
                "archived" => archived = value == "true",
                _ => {}
            }
        }
        let defaults = default_names();
        let selection = Selection::Only(if properties.is_empty() {
            &defaults
        } else {
            &properties
        });
        let start = match after {
            None => 0,
            Some(a) => a.saturating_add(1),
        };
        let page: Vec<(u64, &StoredContact)> = self
            .contacts
            .range(start..)
            .filter(|(_, c)| c.archived == archived)
            .take(limit + 1)
            .map(|(id, c)| (*id, c))
            .collect();
        let more = page.len() > limit;
        let results: Vec<Value> = page
            .iter()
            .take(limit)
            .map(|(id, c)| self.render(*id, c, selection))
            .collect();
        let mut body = json!({ "results": results });
        if more && let Some((last, _)) = page.get(limit - 1) {
            let token = list_token(*last);
            let mut link = format!("{}{CONTACTS}?limit={limit}&after={token}", self.base_url);
            if !properties.is_empty() {
                link.push_str("&properties=");
                link.push_str(&percent_encode(&properties.join(",")));
            }
            if archived {
                link.push_str("&archived=true");
            }
            body["paging"] = json!({ "next": { "after": token, "link": link } });
        }
        json_response(200, &body)
    }

    pub(super) fn get(&mut self, id: &str, query: &str) -> Response {
        let mut properties = Vec::new();
        let mut by_email = false;
        let mut archived = false;
        for (key, value) in parse_form(query) {
            match key.as_str() {
                "properties" => properties.extend(split_names(&value)),
                "idProperty" => match value.as_str() {
                    "email" => by_email = true,
                    "hs_object_id" => {}
                    other => {
                        return self.validation_error(format!(
                            "idProperty {other:?} is not supported; use email or hs_object_id."
                        ));
                    }
                },
                "archived" => archived = value == "true",
                _ => {}
            }
        }
        let found = if by_email {
            self.find_live_by_email(&id.to_lowercase())
        } else {
            id.parse::<u64>()
                .ok()
                .filter(|n| self.contacts.get(n).is_some_and(|c| c.archived == archived))
        };
        let Some(n) = found else {
            let mut body = self.error_body(
                "OBJECT_NOT_FOUND",
                format!("Object not found. Contact {id} does not exist or was deleted (archived)."),
            );
            body["context"] = json!({ "id": [id] });
            return json_response(404, &body);
        };
        let defaults = default_names();
        let selection = Selection::Only(if properties.is_empty() {
            &defaults
        } else {
            &properties
        });
        let body = self.render(n, &self.contacts[&n], selection);
        json_response(200, &body)
    }

    pub(super) fn find_live_by_email(&self, email: &str) -> Option<u64> {
        self.contacts
            .iter()
            .find(|(_, c)| {
                !c.archived && c.properties.get("email").and_then(Value::as_str) == Some(email)
            })
            .map(|(id, _)| *id)
    }
}

/// The `paging.next.after` of a list page ending at contact `last`, in
/// HubSpot's form: base64 text, percent-encoded already (`AAAAAAAAAAI%3D`).
/// A client sends it back as it is; encoding it again breaks it.
pub(super) fn list_token(last: u64) -> String {
    percent_encode(&base64_encode(&last.to_be_bytes()))
}

/// The contact id a list token (as the query decodes it) stands for.
pub(super) fn decode_list_token(token: &str) -> Option<u64> {
    let bytes: [u8; 8] = base64_decode(token)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

pub(super) fn default_names() -> Vec<String> {
    DEFAULT_READ_PROPERTIES
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

pub(super) fn split_names(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}
