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

use super::registry::PluginKind;
use crate::bindings::current::CONTRACT_VERSION;

/// What one plugin instance is granted.
#[derive(Debug, Clone, Default)]
pub struct ImportPolicy {
    /// A directory is mounted for it.
    pub has_data_dir: bool,
    /// Interfaces explicitly allowed by the pipeline (`wasi:filesystem`, `wasi:sockets`).
    pub allow: Vec<String>,
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

/// Every refusal for a component used as `kind`: each export naming
/// another contract version, then each import not granted, in order.
pub fn check_all(
    kind: PluginKind,
    policy: &ImportPolicy,
    imports: &[String],
    exports: &[String],
) -> Vec<ImportRefusal> {
    let exports = exports.iter().filter_map(|name| {
        other_contract_version(name).map(|version| ImportRefusal::OtherContract {
            item: name.clone(),
            version,
        })
    });
    let imports = imports
        .iter()
        .filter_map(|name| check_import(kind, policy, name).err());
    exports.chain(imports).collect()
}

fn other_contract_version(name: &str) -> Option<String> {
    let rest = name.strip_prefix("sluice:plugin/")?;
    let version = rest.split_once('@').map_or("", |(_, v)| v);
    (version != CONTRACT_VERSION).then(|| version.to_owned())
}

fn check_import(kind: PluginKind, policy: &ImportPolicy, name: &str) -> Result<(), ImportRefusal> {
    if let Some(version) = other_contract_version(name) {
        return Err(ImportRefusal::OtherContract {
            item: name.to_owned(),
            version,
        });
    }
    let denied = |reason: String| {
        Err(ImportRefusal::Denied {
            import: name.to_owned(),
            reason,
        })
    };
    let allowed = |iface: &str| policy.allow.iter().any(|a| a == iface);
    if let Some(rest) = name.strip_prefix("sluice:plugin/") {
        let iface = rest.split('@').next().unwrap_or(rest);
        return match iface {
            "types" | "log" => Ok(()),
            "http" if matches!(kind, PluginKind::Source | PluginKind::Target) => Ok(()),
            "http" => denied(format!(
                "only connectors may make HTTP requests; a {kind} may not"
            )),
            other => denied(format!(
                "`{other}` is not a host interface of sluice:plugin@{CONTRACT_VERSION}"
            )),
        };
    }
    if INERT_WASI.iter().any(|p| name.starts_with(p)) {
        return Ok(());
    }
    if name.starts_with("wasi:filesystem/") {
        return if policy.has_data_dir || allowed("wasi:filesystem") {
            Ok(())
        } else {
            denied(
                "it reads or writes files, and no directory is granted to it; give its connector a `dir`, or add \
                 `allow = [\"wasi:filesystem\"]` to link the interface with no directory visible"
                    .to_owned(),
            )
        };
    }
    if name.starts_with("wasi:sockets/") {
        return if allowed("wasi:sockets") {
            Ok(())
        } else {
            denied(
                "it opens network sockets, which Sluice never grants (connectors use the host's `http`); add \
                 `allow = [\"wasi:sockets\"]` to link the interface with no address reachable"
                    .to_owned(),
            )
        };
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
        match check_all(kind, policy, imports, exports).into_iter().next() {
            Some(refusal) => Err(refusal),
            None => Ok(()),
        }
    }

    #[test]
    fn every_refused_import_is_reported() {
        let imports = names(&["acme:a/x@1.0.0", "wasi:cli/stdin@0.2.6", "acme:b/y@1.0.0"]);
        let refusals = check_all(
            PluginKind::FieldTransformer,
            &ImportPolicy::default(),
            &imports,
            &[],
        );
        assert_eq!(refusals.len(), 2, "{refusals:?}");
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    const EXPORT: &str = "sluice:plugin/transform@0.1.0";

    #[test]
    fn inert_imports_are_fine() {
        let imports = names(&[
            "wasi:cli/environment@0.2.6",
            "wasi:io/streams@0.2.6",
            "sluice:plugin/log@0.1.0",
        ]);
        assert!(
            check(
                PluginKind::FieldTransformer,
                &ImportPolicy::default(),
                &imports,
                &names(&[EXPORT])
            )
            .is_ok()
        );
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
        for import in [
            "wasi:sockets/tcp@0.2.9",
            "acme:rogue/exfil@1.0.0",
            "sluice:plugin/http@0.1.0",
        ] {
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
                &names(&["sluice:plugin/http@0.1.0"]),
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
            &names(&["sluice:plugin/transform@0.2.0"]),
        )
        .unwrap_err();
        assert_eq!(
            err,
            ImportRefusal::OtherContract {
                item: "sluice:plugin/transform@0.2.0".into(),
                version: "0.2.0".into()
            }
        );
    }
}
