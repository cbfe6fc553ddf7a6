//! Generates the Rust SDK's bindings with `wit-bindgen` from the SDK's copy
//! of the contract (`sdk/rust/wit/sluice-plugin@0.2.0/`) into `$OUT_DIR`,
//! one file per binding, with the options `sdk/rust/src/bindings.rs`
//! documents. `src/lib.rs` compares them with the checked-in files.

use std::path::PathBuf;

use wit_bindgen_core::wit_parser::Resolve;
use wit_bindgen_core::{Files, WorldGenerator};
use wit_bindgen_rust::{Opts, WithOption};

/// The contract version the SDK speaks.
const CONTRACT: &str = "sluice:plugin@0.2.0";

/// The world of the shared types and imports: generated once, mapped into
/// every plugin world with `with`.
const IMPORTS_WORLD: &str = "
package sluice:sdk;

world imports {
    import sluice:plugin/types@0.2.0;
    import sluice:plugin/log@0.2.0;
    import sluice:plugin/http@0.2.0;
}
";

/// One generated file.
struct Binding {
    /// `src/bindings/<file>.rs`.
    file: &'static str,
    /// The world, `None` for [`IMPORTS_WORLD`].
    world: Option<&'static str>,
    /// Whether the world imports `http` (the imports world always does).
    http: bool,
    /// The world's public `export!` macro.
    export_macro: &'static str,
    /// `#[derive(PartialEq)]` on the generated types.
    partial_eq: bool,
}

const BINDINGS: &[Binding] = &[
    Binding {
        file: "imports",
        world: None,
        http: true,
        export_macro: "",
        partial_eq: true,
    },
    Binding {
        file: "field_transformer",
        world: Some("field-transformer"),
        http: false,
        export_macro: "export_field_transformer_world",
        partial_eq: false,
    },
    Binding {
        file: "normalizer",
        world: Some("normalizer"),
        http: false,
        export_macro: "export_normalizer_world",
        partial_eq: false,
    },
    Binding {
        file: "source",
        world: Some("source"),
        http: true,
        export_macro: "export_source_world",
        partial_eq: true,
    },
    Binding {
        file: "target",
        world: Some("target"),
        http: true,
        export_macro: "export_target_world",
        partial_eq: true,
    },
];

/// The SDK crate: `<workspace>/sdk/rust`.
fn sdk_dir() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/sdk-bindings is two levels deep")
        .join("sdk")
        .join("rust")
}

/// The Rust source `wit-bindgen` generates for `binding`.
fn generate(binding: &Binding) -> String {
    let mut resolve = Resolve::default();
    let wit = sdk_dir().join("wit").join(CONTRACT.replace(':', "-"));
    let (contract, _) = resolve
        .push_path(&wit)
        .unwrap_or_else(|e| panic!("parse {}: {e:?}", wit.display()));
    let mut opts = Opts {
        format: true,
        ..Opts::default()
    };
    let world = match binding.world {
        None => {
            let sdk = resolve
                .push_str("imports.wit", IMPORTS_WORLD)
                .expect("parse the imports world");
            opts.generate_all = true;
            opts.generate_unused_types = true;
            resolve.select_world(&[sdk], Some("imports"))
        }
        Some(world) => {
            let version = CONTRACT.split_once('@').map(|(_, v)| v).unwrap_or_default();
            let mut with = vec!["types", "log"];
            if binding.http {
                with.push("http");
            }
            opts.with = with
                .into_iter()
                .map(|interface| {
                    (
                        format!("sluice:plugin/{interface}@{version}"),
                        WithOption::Path(format!(
                            "crate::bindings::imports::sluice::plugin::{interface}"
                        )),
                    )
                })
                .collect();
            opts.pub_export_macro = true;
            opts.export_macro_name = Some(binding.export_macro.to_owned());
            opts.default_bindings_module = Some(format!("$crate::__private::{}", binding.file));
            resolve.select_world(&[contract], Some(world))
        }
    }
    .expect("select the world");
    if binding.partial_eq {
        opts.additional_derive_attributes = vec!["PartialEq".to_owned()];
    }
    let mut files = Files::default();
    opts.build()
        .generate(&mut resolve, world, &mut files)
        .expect("generate the bindings");
    let (_, source) = files.iter().next().expect("one generated file");
    String::from_utf8(source.to_vec()).expect("generated source is UTF-8")
}

fn main() {
    println!(
        "cargo::rerun-if-changed={}",
        sdk_dir().join("wit").display()
    );
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let mut list = String::from(
        "/// Every binding: (file stem, generated source).\npub const GENERATED: &[(&str, &str)] = &[\n",
    );
    for binding in BINDINGS {
        let path = out_dir.join(format!("{}.rs", binding.file));
        std::fs::write(&path, generate(binding))
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        list.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            binding.file,
            path.display().to_string()
        ));
    }
    list.push_str("];\n");
    std::fs::write(out_dir.join("generated.rs"), list).expect("write generated.rs");
}
