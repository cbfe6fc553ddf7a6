//! Contact properties: which names exist, the values each accepts, the
//! plan's custom-property limit, and applying writes.

use serde_json::{Map, Value, json};

use super::input_errors::{InputError, required_field, validation};
use super::{
    LIFECYCLE_STAGES, MAX_NAME_LEN, MAX_VALUE_LEN, STANDARD_PROPERTIES, SYSTEM_PROPERTIES, State,
};
use crate::util::looks_like_email;

/// A normalised property write: `None` clears the property.
pub(super) type Writes = Vec<(String, Option<String>)>;

impl State {
    /// Checks every property of one input; returns the normalised writes and
    /// the custom property names it would create.
    pub(super) fn validate_properties(
        &self,
        props: &Map<String, Value>,
    ) -> Result<(Writes, Vec<String>), InputError> {
        let mut problems: Vec<(String, &'static str, String)> = Vec::new();
        let mut writes = Vec::new();
        let mut new_custom = Vec::new();
        for (name, value) in props {
            if SYSTEM_PROPERTIES.contains(&name.as_str()) {
                problems.push((
                    name.clone(),
                    "READ_ONLY_VALUE",
                    format!("{name} is a read-only property; its value cannot be set."),
                ));
                continue;
            }
            if !valid_property_name(name) {
                problems.push((
                    name.clone(),
                    "PROPERTY_DOESNT_EXIST",
                    format!("Property \"{name}\" does not exist"),
                ));
                continue;
            }
            let text = match value {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Array(_) | Value::Object(_) => {
                    problems.push((
                        name.clone(),
                        "INVALID_PROPERTY_VALUE",
                        format!("{name} must be a string, number or boolean, not {value}"),
                    ));
                    continue;
                }
            }
            .filter(|s| !s.is_empty());
            let standard = STANDARD_PROPERTIES.contains(&name.as_str());
            if let Some(s) = &text {
                let chars = s.chars().count();
                if chars > MAX_VALUE_LEN {
                    problems.push((
                        name.clone(),
                        "TOO_LONG",
                        format!(
                            "{name} is {chars} characters long; the maximum is {MAX_VALUE_LEN}."
                        ),
                    ));
                    continue;
                }
                match name.as_str() {
                    "email" if !looks_like_email(s.trim()) => {
                        problems.push((
                            name.clone(),
                            "INVALID_EMAIL",
                            format!("Email address {s} is invalid"),
                        ));
                        continue;
                    }
                    "firstname" | "lastname" if chars > MAX_NAME_LEN => {
                        problems.push((
                            name.clone(),
                            "TOO_LONG",
                            format!(
                                "{name} is {chars} characters long; the maximum is {MAX_NAME_LEN}."
                            ),
                        ));
                        continue;
                    }
                    "lifecyclestage" if !LIFECYCLE_STAGES.contains(&s.as_str()) => {
                        problems.push((
                            name.clone(),
                            "INVALID_OPTION",
                            format!(
                                "{s} was not one of the allowed options: [{}]",
                                LIFECYCLE_STAGES.join(", ")
                            ),
                        ));
                        continue;
                    }
                    _ => {}
                }
                if !standard && !self.custom_properties.contains(name) {
                    new_custom.push(name.clone());
                }
            }
            let text = if name == "email" {
                text.map(|s| s.trim().to_lowercase())
            } else {
                text
            };
            writes.push((name.clone(), text));
        }
        if problems.is_empty() {
            Ok((writes, new_custom))
        } else {
            Err(validation(problems))
        }
    }

    pub(super) fn check_custom_limit(&self, new_custom: &[String]) -> Result<(), InputError> {
        let Some(max) = self.config.max_custom_properties else {
            return Ok(());
        };
        let existing = self.custom_properties.len();
        if new_custom.is_empty() || existing + new_custom.len() <= max {
            return Ok(());
        }
        let message = format!(
            "Custom property limit reached: this plan allows {max} custom contact properties and \
             {existing} exist; cannot create {}. Upgrade the plan or delete unused properties.",
            new_custom.join(", ")
        );
        let mut context = Map::new();
        context.insert("propertyName".into(), json!(new_custom));
        context.insert("limit".into(), json!([max.to_string()]));
        Err(InputError {
            category: "LIMIT_EXCEEDED",
            sub_category: Some("CUSTOM_PROPERTY_LIMIT"),
            message: message.clone(),
            context,
            errors: new_custom
                .iter()
                .map(|name| {
                    json!({
                        "message": format!("Property \"{name}\" cannot be created: the custom property limit ({max}) is reached."),
                        "code": "PROPERTY_LIMIT_REACHED",
                        "context": { "propertyName": [name] },
                    })
                })
                .collect(),
        })
    }
}

/// HubSpot property names: a lowercase letter, then lowercase letters, digits
/// and underscores.
pub(super) fn valid_property_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub(super) fn written<'a>(writes: &'a Writes, name: &str) -> Option<&'a str> {
    writes
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.as_deref())
}

pub(super) fn apply_writes(properties: &mut Map<String, Value>, writes: &Writes) {
    for (name, value) in writes {
        match value {
            Some(v) => {
                properties.insert(name.clone(), Value::String(v.clone()));
            }
            None => {
                properties.remove(name);
            }
        }
    }
}

pub(super) fn input_properties(input: &Value) -> Result<&Map<String, Value>, InputError> {
    input
        .get("properties")
        .and_then(Value::as_object)
        .ok_or_else(|| required_field("properties"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_names() {
        assert!(valid_property_name("plan_tier2"));
        for bad in ["", "Plan", "plan tier", "1st", "_x"] {
            assert!(!valid_property_name(bad), "{bad}");
        }
    }
}
