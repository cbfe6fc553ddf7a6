//! Names that go into CRM paths and queries. Shared by the `crm` source
//! and target.

use sluice_sdk::PluginError;

/// A CRM object type or property name: letters, digits, `_`, `-` and `.`,
/// so it can go into a path or query without escaping surprises.
pub fn check_name(option: &str, name: &str) -> Result<(), PluginError> {
    let valid = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(())
    } else {
        Err(PluginError::config(format!(
            "`{option}`: {name:?} is not a valid CRM name (use letters, digits, `_`, `-` or `.`)"
        ))
        .with_field(option))
    }
}
