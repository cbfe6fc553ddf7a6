//! Search: filter groups (time ranges, ids, emails), one sort and
//! offset paging.

use axum::response::Response;
use serde_json::{Value, json};

use super::input::{parse_json_object, value_text};
use super::read::{Selection, default_names};
use super::responses::json_response;
use super::{DEFAULT_LIMIT, MAX_SEARCH_LIMIT, State, StoredContact};
use crate::util::parse_timestamp_ms;

impl State {
    pub(super) fn search(&mut self, body: &[u8]) -> Response {
        let request = match parse_json_object(body) {
            Ok(v) => v,
            Err(message) => return self.validation_error(message),
        };
        let limit = match request.get("limit") {
            None | Some(Value::Null) => DEFAULT_LIMIT,
            Some(v) => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
                Some(n) if (1..=MAX_SEARCH_LIMIT).contains(&n) => n,
                _ => {
                    return self.validation_error(format!(
                        "limit must be a number from 1 to {MAX_SEARCH_LIMIT}; got {v}."
                    ));
                }
            },
        };
        let offset = match request.get("after") {
            None | Some(Value::Null) => 0,
            Some(Value::String(s)) if s.is_empty() => 0,
            Some(v) => match value_text(v).and_then(|s| s.parse::<usize>().ok()) {
                Some(n) => n,
                None => {
                    return self.validation_error(format!(
                        "after must be the paging.next.after value of a previous page; got {v}."
                    ));
                }
            },
        };
        if request.get("query").is_some_and(|q| !q.is_null()) {
            return self.validation_error(
                "Full-text query is not supported by the simulator; use filterGroups.",
            );
        }
        let properties: Vec<String> = match request.get("properties") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(_) => return self.validation_error("properties must be an array of names."),
        };
        let groups = match parse_filter_groups(request.get("filterGroups")) {
            Ok(g) => g,
            Err(message) => return self.validation_error(message),
        };
        let sort = match parse_sort(request.get("sorts")) {
            Ok(s) => s,
            Err(message) => return self.validation_error(message),
        };
        let mut hits: Vec<(u64, &StoredContact)> = self
            .contacts
            .iter()
            .filter(|(_, c)| !c.archived)
            .filter(|(id, c)| {
                groups.is_empty()
                    || groups
                        .iter()
                        .any(|group| group.iter().all(|f| f.matches(**id, c)))
            })
            .map(|(id, c)| (*id, c))
            .collect();
        hits.sort_by(|a, b| {
            let key = |(id, c): &(u64, &StoredContact)| match sort.0 {
                SortKey::Id => *id,
                SortKey::Created => c.created_ms,
                SortKey::Updated => c.updated_ms,
            };
            let ord = key(a).cmp(&key(b)).then(a.0.cmp(&b.0));
            if sort.1 { ord } else { ord.reverse() }
        });
        let total = hits.len();
        let defaults = default_names();
        let selection = Selection::Only(if properties.is_empty() {
            &defaults
        } else {
            &properties
        });
        let results: Vec<Value> = hits
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(id, c)| self.render(*id, c, selection))
            .collect();
        let mut body = json!({ "total": total, "results": results });
        if offset.saturating_add(limit) < total {
            body["paging"] = json!({ "next": { "after": (offset + limit).to_string() } });
        }
        json_response(200, &body)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SortKey {
    Id,
    Created,
    Updated,
}

#[derive(Debug)]
pub(super) enum Filter {
    Time { key: SortKey, op: Op, value: u64 },
    EmailEq(String),
    EmailIn(Vec<String>),
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Op {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
}

impl Filter {
    pub(super) fn matches(&self, id: u64, c: &StoredContact) -> bool {
        match self {
            Filter::Time { key, op, value } => {
                let actual = match key {
                    SortKey::Id => id,
                    SortKey::Created => c.created_ms,
                    SortKey::Updated => c.updated_ms,
                };
                match op {
                    Op::Gt => actual > *value,
                    Op::Gte => actual >= *value,
                    Op::Lt => actual < *value,
                    Op::Lte => actual <= *value,
                    Op::Eq => actual == *value,
                }
            }
            Filter::EmailEq(email) => {
                c.properties.get("email").and_then(Value::as_str) == Some(email.as_str())
            }
            Filter::EmailIn(emails) => c
                .properties
                .get("email")
                .and_then(Value::as_str)
                .is_some_and(|email| emails.iter().any(|e| e == email)),
        }
    }
}

pub(super) const FILTER_HELP: &str = "The simulator supports filters on lastmodifieddate, createdate and \
                           hs_object_id (operators GT, GTE, LT, LTE, EQ) and on email (EQ, IN).";

/// The most values of an `IN` filter.
pub(super) const MAX_IN_VALUES: usize = 100;

/// The most filter groups of a search (HubSpot's limit).
pub(super) const MAX_FILTER_GROUPS: usize = 5;

pub(super) fn parse_filter_groups(value: Option<&Value>) -> Result<Vec<Vec<Filter>>, String> {
    let groups = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(groups)) => groups,
        Some(_) => return Err("filterGroups must be an array.".to_owned()),
    };
    if groups.len() > MAX_FILTER_GROUPS {
        return Err(format!(
            "Too many filter groups: {}; a search takes at most {MAX_FILTER_GROUPS}.",
            groups.len()
        ));
    }
    groups
        .iter()
        .map(|group| {
            let filters = group
                .get("filters")
                .and_then(Value::as_array)
                .ok_or("each filterGroup needs a filters array.")?;
            filters.iter().map(parse_filter).collect()
        })
        .collect()
}

pub(super) fn parse_filter(filter: &Value) -> Result<Filter, String> {
    let name = filter
        .get("propertyName")
        .and_then(Value::as_str)
        .ok_or("each filter needs a propertyName.")?;
    let op_text = filter
        .get("operator")
        .and_then(Value::as_str)
        .ok_or("each filter needs an operator.")?;
    if op_text == "IN" {
        if name != "email" {
            return Err(format!(
                "Unsupported filter on {name:?} (IN). {FILTER_HELP}"
            ));
        }
        let values = filter
            .get("values")
            .and_then(Value::as_array)
            .ok_or("an IN filter needs a values array.")?;
        if values.len() > MAX_IN_VALUES {
            return Err(format!(
                "an IN filter takes at most {MAX_IN_VALUES} values; got {}.",
                values.len()
            ));
        }
        return Ok(Filter::EmailIn(
            values
                .iter()
                .filter_map(value_text)
                .map(|v| v.trim().to_lowercase())
                .collect(),
        ));
    }
    let op = match op_text {
        "GT" => Op::Gt,
        "GTE" => Op::Gte,
        "LT" => Op::Lt,
        "LTE" => Op::Lte,
        "EQ" => Op::Eq,
        other => return Err(format!("Unsupported operator {other:?}. {FILTER_HELP}")),
    };
    let value = filter.get("value").and_then(value_text).unwrap_or_default();
    let key = match name {
        "lastmodifieddate" | "hs_lastmodifieddate" => SortKey::Updated,
        "createdate" => SortKey::Created,
        "hs_object_id" => SortKey::Id,
        "email" if matches!(op, Op::Eq) => {
            return Ok(Filter::EmailEq(value.trim().to_lowercase()));
        }
        other => {
            return Err(format!(
                "Unsupported filter on {other:?} ({op_text}). {FILTER_HELP}"
            ));
        }
    };
    let parsed = if key == SortKey::Id {
        value.parse::<u64>().ok()
    } else {
        parse_timestamp_ms(&value)
    };
    let value = parsed.ok_or_else(|| {
        format!("{value:?} is not a valid value for {name}: use epoch milliseconds or an ISO 8601 date-time.")
    })?;
    Ok(Filter::Time { key, op, value })
}

/// The first sort (key, ascending?); by id ascending when none is given.
pub(super) fn parse_sort(value: Option<&Value>) -> Result<(SortKey, bool), String> {
    let first = match value {
        None | Some(Value::Null) => return Ok((SortKey::Id, true)),
        Some(Value::Array(sorts)) => match sorts.first() {
            None => return Ok((SortKey::Id, true)),
            Some(s) => s,
        },
        Some(_) => return Err("sorts must be an array.".to_owned()),
    };
    let (name, ascending) = match first {
        Value::String(s) => match s.strip_prefix('-') {
            Some(name) => (name.to_owned(), false),
            None => (s.clone(), true),
        },
        Value::Object(o) => {
            let name = o
                .get("propertyName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let ascending = match o.get("direction").and_then(Value::as_str) {
                None | Some("ASCENDING") => true,
                Some("DESCENDING") => false,
                Some(other) => return Err(format!("Unsupported sort direction {other:?}.")),
            };
            (name, ascending)
        }
        _ => return Err("each sort must be an object {propertyName, direction}.".to_owned()),
    };
    let key = match name.as_str() {
        "hs_object_id" | "id" => SortKey::Id,
        "createdate" => SortKey::Created,
        "lastmodifieddate" | "hs_lastmodifieddate" => SortKey::Updated,
        other => {
            return Err(format!(
                "Unsupported sort on {other:?}: the simulator sorts by hs_object_id, createdate or lastmodifieddate."
            ));
        }
    };
    Ok((key, ascending))
}
