//! Strict mode: every `/crm/...` request checked against a published
//! OpenAPI 3 document (HubSpot's, in `tests/fixtures/hubspot/`).
//!
//! A request conforms when its method and path are an operation of the
//! document (path templates such as `/crm/v3/objects/contacts/{contactId}`
//! match one segment), every query parameter is one the operation declares
//! (and an `integer` or `boolean` one parses as such), and its body, when
//! the operation has a JSON `requestBody`, is JSON that validates against
//! that schema, `$ref`s into `components` resolved (by the `jsonschema`
//! crate; OpenAPI's own keywords such as `example` are annotations there).

use std::fmt;

use serde_json::{Map, Value};

use crate::util::parse_form;

/// A loaded OpenAPI document, ready to check requests.
pub struct OpenApi {
    /// The document's `info.title` and `info.version`, for messages.
    title: String,
    /// Every operation of the document.
    operations: Vec<Operation>,
}

impl fmt::Debug for OpenApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenApi")
            .field("title", &self.title)
            .field("operations", &self.operations.len())
            .finish()
    }
}

/// One operation: a method on a path template.
struct Operation {
    /// `GET`, `POST`, ... (upper case).
    method: String,
    /// The path template's segments; `None` for a `{parameter}`.
    segments: Vec<Option<String>>,
    /// The path template, for messages.
    template: String,
    /// The declared query parameters: name and schema type.
    query: Vec<(String, String)>,
    /// The JSON request body's validator, and whether a body is required.
    body: Option<(jsonschema::Validator, bool)>,
}

impl OpenApi {
    /// Reads and compiles a document from a file.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<OpenApi, String> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let document: Value =
            serde_json::from_str(&text).map_err(|e| format!("parsing {}: {e}", path.display()))?;
        OpenApi::from_document(&document)
    }

    /// Compiles a parsed document.
    pub fn from_document(document: &Value) -> Result<OpenApi, String> {
        let components = document.get("components").cloned().unwrap_or(Value::Null);
        let title = format!(
            "{} {}",
            document
                .pointer("/info/title")
                .and_then(Value::as_str)
                .unwrap_or("OpenAPI document"),
            document
                .pointer("/info/version")
                .and_then(Value::as_str)
                .unwrap_or("")
        );
        let paths = document
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("the document has no `paths`")?;
        let mut operations = Vec::new();
        for (template, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for method in ["get", "put", "post", "delete", "patch", "head"] {
                let Some(operation) = item.get(method) else {
                    continue;
                };
                operations.push(Operation::compile(
                    method,
                    template,
                    item,
                    operation,
                    &components,
                )?);
            }
        }
        Ok(OpenApi { title, operations })
    }

    /// The problems of a request, empty when it conforms. `path` is the
    /// path without the query; `query` the raw query string.
    pub fn check(&self, method: &str, path: &str, query: Option<&str>, body: &[u8]) -> Vec<String> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let on_path: Vec<&Operation> = self
            .operations
            .iter()
            .filter(|op| op.matches(&segments))
            .collect();
        if on_path.is_empty() {
            return vec![format!("{path} is not a path of {}", self.title)];
        }
        let Some(operation) = on_path
            .iter()
            .find(|op| op.method.eq_ignore_ascii_case(method))
        else {
            return vec![format!(
                "{method} is not an operation of {} in {}",
                on_path[0].template, self.title
            )];
        };
        operation.problems(query.unwrap_or(""), body)
    }
}

impl Operation {
    fn compile(
        method: &str,
        template: &str,
        item: &Map<String, Value>,
        operation: &Value,
        components: &Value,
    ) -> Result<Operation, String> {
        let segments = template
            .trim_start_matches('/')
            .split('/')
            .map(|s| {
                if s.starts_with('{') && s.ends_with('}') {
                    None
                } else {
                    Some(s.to_owned())
                }
            })
            .collect();
        let mut query = Vec::new();
        let declared = item
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(
                operation
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            );
        for parameter in declared {
            if parameter.get("in").and_then(Value::as_str) == Some("query")
                && let Some(name) = parameter.get("name").and_then(Value::as_str)
            {
                let kind = parameter
                    .pointer("/schema/type")
                    .and_then(Value::as_str)
                    .unwrap_or("string");
                query.push((name.to_owned(), kind.to_owned()));
            }
        }
        let body = match operation.pointer("/requestBody/content/application~1json/schema") {
            None => None,
            Some(schema) => {
                let mut root = match schema {
                    Value::Object(map) => map.clone(),
                    other => {
                        return Err(format!(
                            "{method} {template}: the request body schema is not an object: {other}"
                        ));
                    }
                };
                root.insert("components".to_owned(), components.clone());
                let validator = jsonschema::validator_for(&Value::Object(root))
                    .map_err(|e| format!("{method} {template}: compiling the body schema: {e}"))?;
                let required = operation
                    .pointer("/requestBody/required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                Some((validator, required))
            }
        };
        Ok(Operation {
            method: method.to_ascii_uppercase(),
            segments,
            template: template.to_owned(),
            query,
            body,
        })
    }

    fn matches(&self, segments: &[&str]) -> bool {
        self.segments.len() == segments.len()
            && self
                .segments
                .iter()
                .zip(segments)
                .all(|(want, got)| match want {
                    Some(literal) => literal == got,
                    None => !got.is_empty(),
                })
    }

    fn problems(&self, query: &str, body: &[u8]) -> Vec<String> {
        let at = format!("{} {}", self.method, self.template);
        let mut problems = Vec::new();
        for (name, value) in parse_form(query) {
            match self.query.iter().find(|(n, _)| *n == name) {
                None => problems.push(format!("{at}: query parameter `{name}` is not declared")),
                Some((_, kind)) => {
                    let ok = match kind.as_str() {
                        "integer" => value.parse::<i64>().is_ok(),
                        "boolean" => value == "true" || value == "false",
                        _ => true,
                    };
                    if !ok {
                        problems.push(format!(
                            "{at}: query parameter `{name}` must be a {kind}, got {value:?}"
                        ));
                    }
                }
            }
        }
        match &self.body {
            None => {}
            Some((_, true)) if body.is_empty() => {
                problems.push(format!("{at}: the request body is required"));
            }
            Some((_, false)) if body.is_empty() => {}
            Some((validator, _)) => match serde_json::from_slice::<Value>(body) {
                Err(e) => problems.push(format!("{at}: the body is not JSON: {e}")),
                Ok(instance) => {
                    for error in validator.iter_errors(&instance) {
                        problems.push(format!("{at}: body{}: {error}", error.instance_path()));
                    }
                }
            },
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> OpenApi {
        OpenApi::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/hubspot/contacts-v3.json"
        ))
        .unwrap()
    }

    #[test]
    fn conforming_requests_pass() {
        let spec = spec();
        let upsert = json!({"inputs": [{"idProperty": "email", "id": "a@x.io", "objectWriteTraceId": "0",
                                        "properties": {"email": "a@x.io", "region": ""}}]});
        assert_eq!(
            spec.check(
                "POST",
                "/crm/v3/objects/contacts/batch/upsert",
                None,
                upsert.to_string().as_bytes()
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            spec.check(
                "GET",
                "/crm/v3/objects/contacts",
                Some("limit=2&after=NTI1Cg%3D%3D&properties=email,firstname"),
                b""
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            spec.check("GET", "/crm/v3/objects/contacts/12", None, b""),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_issues_requests_are_refused() {
        let spec = spec();
        let problems = |method: &str, path: &str, query: Option<&str>, body: &Value| {
            spec.check(method, path, query, body.to_string().as_bytes())
        };
        // A null property value.
        let null = problems(
            "POST",
            "/crm/v3/objects/contacts/batch/upsert",
            None,
            &json!({"inputs": [{"idProperty": "email", "id": "a@x.io", "properties": {"region": null}}]}),
        );
        assert!(null.iter().any(|p| p.contains("region")), "{null:?}");
        // A number.
        assert!(
            !problems(
                "POST",
                "/crm/v3/objects/contacts/batch/update",
                None,
                &json!({"inputs": [{"id": "1", "properties": {"score": 3}}]}),
            )
            .is_empty()
        );
        // batch/create without `associations`.
        assert!(
            !problems(
                "POST",
                "/crm/v3/objects/contacts/batch/create",
                None,
                &json!({"inputs": [{"properties": {"email": "a@x.io"}}]}),
            )
            .is_empty()
        );
        // A search with sorts as objects and no `filterGroups` / `after`.
        let search = problems(
            "POST",
            "/crm/v3/objects/contacts/search",
            None,
            &json!({"sorts": [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}],
                    "properties": ["lastmodifieddate"], "limit": 1}),
        );
        assert!(search.len() >= 3, "{search:?}");
        // Unknown paths, methods and parameters.
        assert!(
            !problems(
                "POST",
                "/crm/v3/objects/contacts/batch/delete",
                None,
                &json!({})
            )
            .is_empty()
        );
        assert!(!problems("PUT", "/crm/v3/objects/contacts", None, &json!({})).is_empty());
        assert!(
            !spec
                .check("GET", "/crm/v3/objects/contacts", Some("limit=ten"), b"")
                .is_empty()
        );
        assert!(
            !spec
                .check("GET", "/crm/v3/objects/contacts", Some("cursor=1"), b"")
                .is_empty()
        );
    }
}
