//! Host-side bindings for every supported version of the plugin contract.
//!
//! All `bindgen!` output lives here, one submodule per contract version
//! ([`v0_1_0`], [`v0_2_0`]), each generated from its own folder under
//! `wit/`. The rest of the host uses the flat names re-exported below, which
//! are the current version's ([`v0_2_0`]) types; [`adapt`] converts an older
//! version's types into them (and the host's inputs back), so a component
//! built for an older contract runs unchanged.
//!
//! Adding a version: see "How to add contract version 0.3.0" in
//! docs/ARCHITECTURE.md.

pub mod adapt;
pub mod v0_1_0;
pub mod v0_2_0;

use std::fmt;

pub use v0_2_0::{
    Descriptor, ErrorCategory, ExtractBatch, ExtractFailure, Extracted, Normalized, Outgoing,
    PluginError, Value, WriteOutcome, http, log,
};

/// The package every contract version is published under.
pub const PACKAGE: &str = "sluice:plugin";

/// A version of the `sluice:plugin` contract this host implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContractVersion {
    /// `sluice:plugin@0.1.0`, frozen.
    V0_1_0,
    /// `sluice:plugin@0.2.0`, the current version.
    V0_2_0,
}

impl serde::Serialize for ContractVersion {
    /// As its number, such as `"0.2.0"`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.number())
    }
}

impl ContractVersion {
    /// Every version the host implements, oldest first.
    pub const ALL: [ContractVersion; 2] = [ContractVersion::V0_1_0, ContractVersion::V0_2_0];

    /// The version new plugins are built against.
    pub const CURRENT: ContractVersion = ContractVersion::V0_2_0;

    /// The version number, such as `0.2.0`.
    pub fn number(self) -> &'static str {
        match self {
            ContractVersion::V0_1_0 => v0_1_0::VERSION,
            ContractVersion::V0_2_0 => v0_2_0::VERSION,
        }
    }

    /// The version whose number is `number`, if the host implements it.
    pub fn from_number(number: &str) -> Option<ContractVersion> {
        Self::ALL.into_iter().find(|v| v.number() == number)
    }

    /// The component-model name of `interface` at this version, such as
    /// `sluice:plugin/transform@0.2.0`.
    pub fn interface_name(self, interface: &str) -> String {
        format!("{PACKAGE}/{interface}@{}", self.number())
    }

    /// True when this version's worlds export `describe`.
    pub fn has_describe(self) -> bool {
        self >= ContractVersion::V0_2_0
    }

    /// Every version the host implements, as `sluice:plugin@0.1.0 and
    /// sluice:plugin@0.2.0`, for messages.
    pub fn supported() -> String {
        Self::ALL
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

impl fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PACKAGE}@{}", self.number())
    }
}

/// The interface and version a component-model name of the contract
/// names: `sluice:plugin/transform@0.2.0` gives `("transform", "0.2.0")`.
/// `None` for names outside the contract.
pub fn split_contract_name(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
    Some(rest.split_once('@').unwrap_or((rest, "")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_from_the_version_constants() {
        assert_eq!(
            ContractVersion::V0_1_0.interface_name("transform"),
            "sluice:plugin/transform@0.1.0"
        );
        assert_eq!(
            ContractVersion::from_number("0.2.0"),
            Some(ContractVersion::V0_2_0)
        );
        assert_eq!(ContractVersion::from_number("9.0.0"), None);
        assert_eq!(
            split_contract_name("sluice:plugin/load@0.2.0"),
            Some(("load", "0.2.0"))
        );
        assert_eq!(split_contract_name("wasi:io/streams@0.2.6"), None);
        assert_eq!(
            ContractVersion::supported(),
            "sluice:plugin@0.1.0 and sluice:plugin@0.2.0"
        );
    }
}
