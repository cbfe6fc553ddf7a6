//! Reading a component's structure from its bytes, before anything
//! compiles it.
//!
//! Compiling is the first thing a plugin's bytes reach, so it must be
//! bounded too: a few hundred kilobytes of nested components that each
//! instantiate the one inside them several times flatten into millions of
//! instances, and the compiler runs out of memory. The scan here is linear
//! in the size of the file and refuses, with a reason, a file that is too
//! large, nests too deeply, defines too many modules or components, or
//! would flatten into too many instances. It also yields the top-level
//! import and export names, so capabilities are checked (and plugins
//! described) without compiling.

use wasmparser::{
    ComponentAlias, ComponentExternalKind, ComponentInstance, ComponentOuterAliasKind,
    ComponentTypeRef, Encoding, Instance, Parser, Payload,
};

/// Structural bounds checked before compiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaticBounds {
    /// Largest component file, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of components and modules inside one another.
    pub max_depth: usize,
    /// Most core modules defined, counted over every nested component.
    pub max_modules: usize,
    /// Most components defined inside the top-level one.
    pub max_components: usize,
    /// Most core instances the component creates once every nested
    /// component instantiation is flattened.
    pub max_flat_instances: u64,
}

impl Default for StaticBounds {
    fn default() -> Self {
        StaticBounds {
            // Interpreted guests (Python) carry their runtime: ~40 MiB.
            max_bytes: 256 << 20,
            max_depth: 16,
            max_modules: 1_000,
            max_components: 1_000,
            max_flat_instances: 10_000,
        }
    }
}

/// What the scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inspection {
    /// Top-level import names (`wasi:cli/environment@0.2.6`...).
    pub imports: Vec<String>,
    /// Top-level export names (`sluice:plugin/transform@0.1.0`...).
    pub exports: Vec<String>,
    /// Deepest nesting seen (1: a component with no nested component or module).
    pub depth: usize,
    /// Core modules defined.
    pub modules: usize,
    /// Components defined inside the top-level one.
    pub components: usize,
    /// Core instances once nested instantiations are flattened.
    pub flat_instances: u64,
}

#[derive(Debug)]
struct Frame {
    component: bool,
    /// Flattened core instances of each entry of the component index space
    /// (what instantiating it costs).
    components: Vec<u64>,
    /// Flattened core instances this component creates when instantiated.
    cost: u64,
}

/// Scan `bytes` and check them against `bounds`; the error is a reason for
/// a person ("nests components 40 deep, more than the 16 allowed").
pub fn inspect(bytes: &[u8], bounds: &StaticBounds) -> Result<Inspection, String> {
    if bytes.len() > bounds.max_bytes {
        return Err(format!(
            "the file is {} bytes, more than the {} bytes a plugin may be",
            bytes.len(),
            bounds.max_bytes
        ));
    }
    let mut found = Inspection::default();
    let mut stack: Vec<Frame> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| e.to_string())?;
        match payload {
            Payload::Version { encoding, .. } => {
                let component = encoding == Encoding::Component;
                if stack.is_empty() && !component {
                    return Err(
                        "it is a core WebAssembly module, not a component; build it as a component (for Rust: the wasm32-wasip2 target)"
                            .to_owned(),
                    );
                }
                stack.push(Frame {
                    component,
                    components: Vec::new(),
                    cost: 0,
                });
                found.depth = found.depth.max(stack.len());
                if stack.len() > bounds.max_depth {
                    return Err(format!(
                        "it nests components and modules more than {} deep",
                        bounds.max_depth
                    ));
                }
            }
            Payload::ModuleSection { .. } => {
                found.modules += 1;
                if found.modules > bounds.max_modules {
                    return Err(format!(
                        "it defines more than {} core modules",
                        bounds.max_modules
                    ));
                }
            }
            Payload::ComponentSection { .. } => {
                found.components += 1;
                if found.components > bounds.max_components {
                    return Err(format!(
                        "it defines more than {} nested components",
                        bounds.max_components
                    ));
                }
            }
            Payload::InstanceSection(reader) => {
                let frame = top(&mut stack)?;
                for instance in reader {
                    if let Instance::Instantiate { .. } = instance.map_err(|e| e.to_string())? {
                        frame.cost = frame.cost.saturating_add(1);
                    }
                }
                check_cost(frame.cost, bounds)?;
            }
            Payload::ComponentInstanceSection(reader) => {
                let frame = top(&mut stack)?;
                for instance in reader {
                    if let ComponentInstance::Instantiate {
                        component_index, ..
                    } = instance.map_err(|e| e.to_string())?
                    {
                        let cost = *frame
                            .components
                            .get(component_index as usize)
                            .ok_or_else(|| {
                                format!("it instantiates component {component_index}, which it does not define")
                            })?;
                        frame.cost = frame.cost.saturating_add(cost);
                        check_cost(frame.cost, bounds)?;
                    }
                }
            }
            Payload::ComponentImportSection(reader) => {
                let depth = stack.len();
                top(&mut stack)?;
                for import in reader {
                    let import = import.map_err(|e| e.to_string())?;
                    if let ComponentTypeRef::Component(_) = import.ty {
                        return Err(format!(
                            "it imports a component (`{}`); components that take components as arguments are not accepted",
                            import.name.name
                        ));
                    }
                    if depth == 1 {
                        found.imports.push(import.name.name.to_owned());
                    }
                }
            }
            Payload::ComponentExportSection(reader) => {
                let depth = stack.len();
                let frame = top(&mut stack)?;
                for export in reader {
                    let export = export.map_err(|e| e.to_string())?;
                    if export.kind == ComponentExternalKind::Component {
                        // Exporting a component adds it to the index space again.
                        let cost =
                            *frame.components.get(export.index as usize).ok_or_else(|| {
                                format!(
                                    "it exports component {}, which it does not define",
                                    export.index
                                )
                            })?;
                        frame.components.push(cost);
                    }
                    if depth == 1 {
                        found.exports.push(export.name.name.to_owned());
                    }
                }
            }
            Payload::ComponentAliasSection(reader) => {
                for alias in reader {
                    match alias.map_err(|e| e.to_string())? {
                        ComponentAlias::Outer {
                            kind: ComponentOuterAliasKind::Component,
                            count,
                            index,
                        } => {
                            let outer = stack
                                .len()
                                .checked_sub(1 + count as usize)
                                .and_then(|i| stack.get(i))
                                .and_then(|f| f.components.get(index as usize))
                                .copied()
                                .ok_or_else(|| {
                                    "it aliases an outer component that does not exist".to_owned()
                                })?;
                            top(&mut stack)?.components.push(outer);
                        }
                        ComponentAlias::InstanceExport {
                            kind: ComponentExternalKind::Component,
                            name,
                            ..
                        } => {
                            return Err(format!(
                                "it takes a component (`{name}`) out of an instance; components passed around as values are not accepted"
                            ));
                        }
                        _ => {}
                    }
                }
            }
            Payload::End(_) => {
                let frame = stack
                    .pop()
                    .ok_or_else(|| "it ends more often than it begins".to_owned())?;
                match stack.last_mut() {
                    Some(parent) if frame.component => parent.components.push(frame.cost),
                    Some(_) => {}
                    None => found.flat_instances = frame.cost,
                }
            }
            _ => {}
        }
    }
    Ok(found)
}

fn top(stack: &mut [Frame]) -> Result<&mut Frame, String> {
    stack
        .last_mut()
        .ok_or_else(|| "it has a section outside any component".to_owned())
}

fn check_cost(cost: u64, bounds: &StaticBounds) -> Result<(), String> {
    if cost > bounds.max_flat_instances {
        Err(format!(
            "its nested components would create more than {} core instances once flattened",
            bounds.max_flat_instances
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(wat: &str) -> Vec<u8> {
        wat::parse_str(wat).unwrap()
    }

    #[test]
    fn names_and_counts_of_a_plain_component() {
        let bytes = component(
            r#"(component
                (import "wasi:cli/environment@0.2.6" (instance))
                (core module $m)
                (core instance (instantiate $m))
                (component $c (core module $n) (core instance (instantiate $n)))
                (instance $i (instantiate $c))
                (instance $j (instantiate $c))
                (export "sluice:plugin/x@0.1.0" (instance $i))
            )"#,
        );
        let found = inspect(&bytes, &StaticBounds::default()).unwrap();
        assert_eq!(found.imports, ["wasi:cli/environment@0.2.6"]);
        assert_eq!(found.exports, ["sluice:plugin/x@0.1.0"]);
        assert_eq!(found.modules, 2);
        assert_eq!(found.components, 1);
        assert_eq!(found.depth, 3);
        assert_eq!(found.flat_instances, 3);
    }

    #[test]
    fn outer_aliases_carry_their_cost() {
        let bytes = component(
            r#"(component
                (component $c (core module $n) (core instance (instantiate $n)) (core instance (instantiate $n)))
                (component $d
                    (alias outer 1 $c (component $cc))
                    (instance (instantiate $cc))
                    (instance (instantiate $cc)))
                (instance (instantiate $d))
            )"#,
        );
        assert_eq!(
            inspect(&bytes, &StaticBounds::default())
                .unwrap()
                .flat_instances,
            4
        );
    }

    #[test]
    fn core_modules_and_too_large_files_are_refused() {
        let module = component("(module)");
        assert!(
            inspect(&module, &StaticBounds::default())
                .unwrap_err()
                .contains("core WebAssembly module")
        );
        let small = StaticBounds {
            max_bytes: 4,
            ..StaticBounds::default()
        };
        assert!(
            inspect(&component("(component)"), &small)
                .unwrap_err()
                .contains("bytes")
        );
    }
}
