//! What a plugin may import, decided from its component type before it is
//! ever instantiated.
//!
//! - Inert interfaces are linked for every plugin; nothing reaches the host
//!   through them: `wasi:cli` (empty environment and arguments, no stdin,
//!   stdout and stderr captured), `wasi:io`, `wasi:clocks`, `wasi:random`,
//!   and the contract's `types` and `log`.
//! - `wasi:filesystem` needs a granted directory (a connector's `dir`) or an
//!   explicit `allow`; only the granted directory is ever visible.
//! - `wasi:sockets` needs an explicit `allow`; no address is ever reachable.
//! - The contract's `http` is for connectors only.
//! - Anything else, or the contract at another version, is refused.
//!
//! The contract version is the one the component's exports name
//! ([`contract_version`]); every contract import and export must name that
//! same version, and it must be one the host implements.

use super::registry::PluginKind;
use crate::bindings::{ContractVersion, split_contract_name};

/// What one plugin instance is granted.
#[derive(Debug, Clone, Default)]
pub struct ImportPolicy {
    /// A directory is mounted for it.
    pub has_data_dir: bool,
    /// Interfaces explicitly allowed by the pipeline (`wasi:filesystem`, `wasi:sockets`).
    pub allow: Vec<String>,
    /// Where its grants come from, so a refusal says how to grant.
    pub grant_via: GrantVia,
}

/// Where a plugin's grants are written, for advice in refusals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GrantVia {
    /// A pipeline file: `dir` on a connector, `allow = [...]` on a step.
    #[default]
    Pipeline,
    /// The command line of `sluice plugin test`: `--allow INTERFACE`.
    CommandLine,
}

impl GrantVia {
    /// How to allow linking `interface` with nothing granted through it.
    fn allow(self, interface: &str) -> String {
        match self {
            GrantVia::Pipeline => format!("add `allow = [\"{interface}\"]` to its step"),
            GrantVia::CommandLine => format!("pass `--allow {interface}`"),
        }
    }
}

/// Why a component's imports or exports are not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportRefusal {
    /// It imports something the host does not grant it.
    Denied {
        /// The import, as named in the component.
        import: String,
        /// Why and how to grant it, if it can be.
        reason: String,
    },
    /// It was built for another version of the contract.
    OtherContract {
        /// The import or export naming the other version.
        item: String,
        /// The version it wants.
        version: String,
    },
}

const INERT_WASI: [&str; 4] = ["wasi:cli/", "wasi:io/", "wasi:clocks/", "wasi:random/"];

/// The contract version a component was built for: the one its first
/// contract export names. A version the host does not implement is
/// refused; a component exporting nothing of the contract is taken as the
/// current version (instantiating it then fails with the missing world).
pub fn contract_version(exports: &[String]) -> Result<ContractVersion, ImportRefusal> {
    let Some((name, number)) = exports
        .iter()
        .find_map(|name| split_contract_name(name).map(|(_, v)| (name, v)))
    else {
        return Ok(ContractVersion::CURRENT);
    };
    ContractVersion::from_number(number).ok_or_else(|| ImportRefusal::OtherContract {
        item: name.clone(),
        version: number.to_owned(),
    })
}

/// Every refusal for a component used as `kind` at contract `version`:
/// each export naming another contract version, then each import not
/// granted, in order.
pub fn check_all(
    kind: PluginKind,
    version: ContractVersion,
    policy: &ImportPolicy,
    imports: &[String],
    exports: &[String],
) -> Vec<ImportRefusal> {
    let exports = exports.iter().filter_map(|name| {
        other_contract_version(version, name).map(|other| ImportRefusal::OtherContract {
            item: name.clone(),
            version: other,
        })
    });
    let imports = imports
        .iter()
        .filter_map(|name| check_import(kind, version, policy, name).err());
    exports.chain(imports).collect()
}

/// The version `name` names, when it is a contract name at a version other
/// than `version`.
fn other_contract_version(version: ContractVersion, name: &str) -> Option<String> {
    let (_, number) = split_contract_name(name)?;
    (number != version.number()).then(|| number.to_owned())
}

fn check_import(
    kind: PluginKind,
    version: ContractVersion,
    policy: &ImportPolicy,
    name: &str,
) -> Result<(), ImportRefusal> {
    if let Some(other) = other_contract_version(version, name) {
        return Err(ImportRefusal::OtherContract {
            item: name.to_owned(),
            version: other,
        });
    }
    let denied = |reason: String| {
        Err(ImportRefusal::Denied {
            import: name.to_owned(),
            reason,
        })
    };
    let allowed = |iface: &str| policy.allow.iter().any(|a| a == iface);
    if let Some((iface, _)) = split_contract_name(name) {
        return match iface {
            "types" | "log" => Ok(()),
            "http" if matches!(kind, PluginKind::Source | PluginKind::Target) => Ok(()),
            "http" => denied(format!(
                "only connectors (sources and targets) may make HTTP requests; a {kind} may not"
            )),
            other => denied(format!("`{other}` is not a host interface of {version}")),
        };
    }
    if INERT_WASI.iter().any(|p| name.starts_with(p)) {
        return Ok(());
    }
    let connector = matches!(kind, PluginKind::Source | PluginKind::Target);
    let via = policy.grant_via;
    if name.starts_with("wasi:filesystem/") {
        return if policy.has_data_dir || allowed("wasi:filesystem") {
            Ok(())
        } else if connector {
            denied(format!(
                "it reads or writes files, and no directory is granted to it; give the {kind} a `dir`{}, or {} to link the interface with no directory visible",
                match via {
                    GrantVia::Pipeline => " in the pipeline",
                    GrantVia::CommandLine => "",
                },
                via.allow("wasi:filesystem")
            ))
        } else {
            denied(format!(
                "it reads or writes files, and no directory is granted to it: a {kind} is never given one, so file access could only fail; build it without \
                 file access (Python: componentize-py `--stub-wasi`; JavaScript: componentize-js `-d stdio random clocks http fetch-event`; C and Rust: no stdio or files, log through the contract's `log`), or {} to link \
                 the interface with no directory visible",
                via.allow("wasi:filesystem")
            ))
        };
    }
    if name.starts_with("wasi:sockets/") {
        return if allowed("wasi:sockets") {
            Ok(())
        } else {
            let why = if connector {
                "connectors use the host's `http`".to_owned()
            } else {
                format!("a {kind} has no network at all")
            };
            denied(format!(
                "it opens network sockets, which Sluice never grants ({why}); build it without them (Python: componentize-py `--stub-wasi`), or {} to link the interface with no address reachable",
                via.allow("wasi:sockets")
            ))
        };
    }
    if name.starts_with("wasi:http/") {
        return denied(format!(
            "the host does not provide this interface{}; build without it (componentize-js: `-d http -d fetch-event`)",
            if connector {
                " (connectors make requests through the contract's `http`)"
            } else {
                ""
            }
        ));
    }
    denied("the host does not provide this interface".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        kind: PluginKind,
        policy: &ImportPolicy,
        imports: &[String],
        exports: &[String],
    ) -> Result<(), ImportRefusal> {
        let version = contract_version(exports)?;
        match check_all(kind, version, policy, imports, exports)
            .into_iter()
            .next()
        {
            Some(refusal) => Err(refusal),
            None => Ok(()),
        }
    }

    #[test]
    fn every_refused_import_is_reported() {
        let imports = names(&["acme:a/x@1.0.0", "wasi:cli/stdin@0.2.6", "acme:b/y@1.0.0"]);
        let refusals = check_all(
            PluginKind::FieldTransformer,
            ContractVersion::CURRENT,
            &ImportPolicy::default(),
            &imports,
            &[],
        );
        assert_eq!(refusals.len(), 2, "{refusals:?}");
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn at(version: ContractVersion, interface: &str) -> String {
        version.interface_name(interface)
    }

    #[test]
    fn inert_imports_are_fine() {
        for version in ContractVersion::ALL {
            let imports = vec![
                "wasi:cli/environment@0.2.6".to_owned(),
                "wasi:io/streams@0.2.6".to_owned(),
                at(version, "log"),
            ];
            assert!(
                check(
                    PluginKind::FieldTransformer,
                    &ImportPolicy::default(),
                    &imports,
                    &[at(version, "transform")]
                )
                .is_ok()
            );
        }
    }

    #[test]
    fn filesystem_needs_a_grant() {
        let imports = names(&["wasi:filesystem/types@0.2.6"]);
        let err = check(
            PluginKind::FieldTransformer,
            &ImportPolicy::default(),
            &imports,
            &[],
        )
        .unwrap_err();
        assert!(
            matches!(err, ImportRefusal::Denied { ref import, .. } if import == "wasi:filesystem/types@0.2.6")
        );
        let dir = ImportPolicy {
            has_data_dir: true,
            ..Default::default()
        };
        assert!(check(PluginKind::Source, &dir, &imports, &[]).is_ok());
        let allowed = ImportPolicy {
            allow: names(&["wasi:filesystem"]),
            ..Default::default()
        };
        assert!(check(PluginKind::FieldTransformer, &allowed, &imports, &[]).is_ok());
    }

    #[test]
    fn sockets_unknown_and_http_for_transformers_are_denied() {
        let http = at(ContractVersion::CURRENT, "http");
        for import in ["wasi:sockets/tcp@0.2.9", "acme:rogue/exfil@1.0.0", &http] {
            let err = check(
                PluginKind::FieldTransformer,
                &ImportPolicy::default(),
                &names(&[import]),
                &[],
            )
            .unwrap_err();
            assert!(matches!(err, ImportRefusal::Denied { .. }), "{import}");
        }
        assert!(
            check(
                PluginKind::Target,
                &ImportPolicy::default(),
                &names(&[&http]),
                &[]
            )
            .is_ok()
        );
    }

    #[test]
    fn other_contract_versions_are_refused() {
        let err = check(
            PluginKind::FieldTransformer,
            &ImportPolicy::default(),
            &[],
            &names(&["sluice:plugin/transform@9.0.0"]),
        )
        .unwrap_err();
        assert_eq!(
            err,
            ImportRefusal::OtherContract {
                item: "sluice:plugin/transform@9.0.0".into(),
                version: "9.0.0".into()
            }
        );
    }

    #[test]
    fn the_version_comes_from_the_exports_and_may_not_be_mixed() {
        let old = ContractVersion::V0_1_0;
        assert_eq!(contract_version(&[at(old, "transform")]), Ok(old));
        let err = check(
            PluginKind::FieldTransformer,
            &ImportPolicy::default(),
            &[at(ContractVersion::V0_2_0, "log")],
            &[at(old, "transform")],
        )
        .unwrap_err();
        assert!(
            matches!(err, ImportRefusal::OtherContract { ref version, .. } if version == "0.2.0"),
            "{err:?}"
        );
    }
}
