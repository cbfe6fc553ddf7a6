//! `sluice plugin new --lang LANG --kind KIND NAME`: a ready plugin project
//! (source, build script, README, `cases.toml`) from templates embedded in
//! the binary. Nothing is downloaded but the language's own packages, when
//! the project is built.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use super::Exit;

/// A plugin's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust, with the `sluice-sdk` crate.
    Rust,
    /// Python, with componentize-py.
    Python,
    /// JavaScript, with componentize-js.
    Js,
    /// TypeScript, with componentize-js.
    Ts,
    /// C, with wit-bindgen and wasi-sdk or clang.
    C,
    /// Zig.
    Zig,
    /// Go, with TinyGo.
    Go,
}

impl Lang {
    /// The language's name for people.
    pub fn title(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Python => "Python",
            Lang::Js => "JavaScript",
            Lang::Ts => "TypeScript",
            Lang::C => "C",
            Lang::Zig => "Zig",
            Lang::Go => "Go",
        }
    }
}

/// A plugin's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// A field transformer (world `field-transformer`).
    Transformer,
    /// A normalizer (world `normalizer`).
    Normalizer,
    /// A source connector (world `source`).
    Source,
    /// A target connector (world `target`).
    Target,
}

impl Kind {
    fn world(self) -> &'static str {
        match self {
            Kind::Transformer => "field-transformer",
            Kind::Normalizer => "normalizer",
            Kind::Source => "source",
            Kind::Target => "target",
        }
    }
}

/// `sluice plugin new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's name: lowercase letters, digits and `-`, starting with a letter.
    name: String,
    /// The language.
    #[arg(long, value_enum)]
    lang: Lang,
    /// What the plugin is.
    #[arg(long, value_enum, default_value = "transformer")]
    kind: Kind,
    /// Where to create the project (default: a new folder named after the plugin).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Rust: use the SDK at this path (a checkout's `sdk/rust`).
    #[arg(long, conflicts_with = "sdk_git")]
    sdk_path: Option<PathBuf>,
    /// Rust: use the SDK from this git repository.
    #[arg(long)]
    sdk_git: Option<String>,
    /// Rust: the git revision, branch or tag of `--sdk-git` (default: its default branch).
    #[arg(long, requires = "sdk_git")]
    sdk_rev: Option<String>,
    /// One sentence on what the plugin does (shown by `sluice plugin docs`).
    #[arg(long)]
    description: Option<String>,
}

/// The contract's WIT files, for languages whose tools read them.
const WIT: [(&str, &str); 2] = [
    (
        "wit/types.wit",
        include_str!("../../../wit/sluice-plugin@0.2.0/types.wit"),
    ),
    (
        "wit/worlds.wit",
        include_str!("../../../wit/sluice-plugin@0.2.0/worlds.wit"),
    ),
];

/// The JavaScript SDK and its TypeScript types, copied into every JS or TS project.
const JS_SDK: &str = include_str!("../../../sdk/js/sluice-sdk.js");
const JS_SDK_TYPES: &str = include_str!("../../../sdk/js/sluice-sdk.d.ts");

/// Where this binary's own source checkout keeps the Rust SDK, when it was
/// built from one.
const BUILT_FROM_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../sdk/rust");

/// One file of a project: its path and its text (with `{{…}}` placeholders).
type File = (&'static str, &'static str);

/// Create the project; print what to do next.
pub fn new(args: &NewArgs) -> anyhow::Result<Exit> {
    check_name(&args.name)?;
    let files = templates(args.lang, args.kind)?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} exists and is not empty; choose another name or --dir",
            dir.display()
        );
    }
    let (sdk, sdk_note) = match args.lang {
        Lang::Rust => rust_sdk(args)?,
        _ => (String::new(), String::new()),
    };
    let crate_name = args.name.replace('-', "_");
    let description = args.description.clone().unwrap_or_else(|| {
        format!(
            "A Sluice {} written in {}.",
            args.kind.world(),
            args.lang.title()
        )
    });
    let fill = |text: &str| {
        text.replace("{{name}}", &args.name)
            .replace("{{crate}}", &crate_name)
            .replace("{{world}}", args.kind.world())
            .replace("{{description}}", &toml_escape(&description))
            .replace("{{sdk}}", &sdk)
            .replace("{{sdk_note}}", &sdk_note)
    };
    for (path, text) in files {
        write(&dir.join(path), &fill(text))?;
    }
    outln!(
        "Created a {} {} in {}.",
        args.lang.title(),
        args.kind.world(),
        dir.display()
    );
    outln!("Next:");
    outln!("  cd {}", dir.display());
    outln!("  ./build.sh");
    outln!("  sluice plugin test {crate_name}.wasm --cases cases.toml");
    Ok(Exit::Success)
}

/// The project's files for `lang` and `kind`, or why there are none.
fn templates(lang: Lang, kind: Kind) -> anyhow::Result<Vec<File>> {
    let cases_transformer = include_str!("../templates/common/transformer-cases.toml");
    let cases_normalizer = include_str!("../templates/common/normalizer-cases.toml");
    let transformer = kind == Kind::Transformer;
    let pick = |t: &'static str, n: &'static str| if transformer { t } else { n };
    let mut files: Vec<File> = match lang {
        Lang::Rust => vec![
            (
                "Cargo.toml",
                include_str!("../templates/rust/Cargo.toml.tmpl"),
            ),
            (
                "rust-toolchain.toml",
                include_str!("../templates/rust/rust-toolchain.toml"),
            ),
            (
                "src/lib.rs",
                pick(
                    include_str!("../templates/rust/transformer.rs.tmpl"),
                    include_str!("../templates/rust/normalizer.rs.tmpl"),
                ),
            ),
            ("build.sh", include_str!("../templates/rust/build.sh.tmpl")),
            (
                "README.md",
                include_str!("../templates/rust/README.md.tmpl"),
            ),
            (".gitignore", include_str!("../templates/rust/gitignore")),
        ],
        Lang::Python => vec![
            (
                "app.py",
                pick(
                    include_str!("../templates/python/transformer.py.tmpl"),
                    include_str!("../templates/python/normalizer.py.tmpl"),
                ),
            ),
            (
                "sluice_sdk.py",
                include_str!("../../../sdk/python/sluice_sdk.py"),
            ),
            (
                "build.sh",
                include_str!("../templates/python/build.sh.tmpl"),
            ),
            (
                "README.md",
                include_str!("../templates/python/README.md.tmpl"),
            ),
            (".gitignore", include_str!("../templates/python/gitignore")),
        ],
        Lang::Js => vec![
            (
                "app.js",
                pick(
                    include_str!("../templates/js/transformer.js.tmpl"),
                    include_str!("../templates/js/normalizer.js.tmpl"),
                ),
            ),
            ("sluice-sdk.js", JS_SDK),
            ("sluice-sdk.d.ts", JS_SDK_TYPES),
            (
                "package.json",
                include_str!("../templates/js/package.json.tmpl"),
            ),
            ("build.sh", include_str!("../templates/js/build.sh.tmpl")),
            ("README.md", include_str!("../templates/js/README.md.tmpl")),
            (".gitignore", include_str!("../templates/js/gitignore")),
        ],
        Lang::Ts => vec![
            (
                "src/app.ts",
                pick(
                    include_str!("../templates/ts/transformer.ts.tmpl"),
                    include_str!("../templates/ts/normalizer.ts.tmpl"),
                ),
            ),
            ("src/sluice-sdk.js", JS_SDK),
            ("src/sluice-sdk.d.ts", JS_SDK_TYPES),
            (
                "package.json",
                include_str!("../templates/ts/package.json.tmpl"),
            ),
            (
                "tsconfig.json",
                include_str!("../templates/ts/tsconfig.json"),
            ),
            ("build.sh", include_str!("../templates/ts/build.sh.tmpl")),
            ("README.md", include_str!("../templates/ts/README.md.tmpl")),
            (".gitignore", include_str!("../templates/ts/gitignore")),
        ],
        Lang::Go => bail!(
            "Go plugins are not supported yet: they need TinyGo 0.34 or later (for wasm32-wasip2 components), \
             which is not available to test them here. Write the plugin in Rust, Python, JavaScript or TypeScript for now."
        ),
        Lang::C | Lang::Zig => bail!(
            "there is no {} template yet (Rust, Python, JavaScript and TypeScript have one); `sluice plugin doctor --lang {}` lists the toolchain it would need",
            lang.title(),
            format!("{lang:?}").to_lowercase()
        ),
    };
    let cases = match kind {
        Kind::Transformer => cases_transformer,
        Kind::Normalizer => cases_normalizer,
        Kind::Source | Kind::Target => bail!(
            "there is no {} template yet: start from a built-in connector's source (plugins/jsonl-file-source, plugins/jsonl-file-target, plugins/rest-source in the Sluice repository) with the Rust SDK",
            kind.world()
        ),
    };
    files.push(("cases.toml", cases));
    if lang != Lang::Rust {
        files.extend(WIT);
    }
    Ok(files)
}

/// The `sluice-sdk` dependency line and a note on where it comes from.
fn rust_sdk(args: &NewArgs) -> anyhow::Result<(String, String)> {
    if let Some(url) = &args.sdk_git {
        let rev = args
            .sdk_rev
            .as_ref()
            .map(|r| format!(", rev = \"{}\"", toml_escape(r)))
            .unwrap_or_default();
        return Ok((
            format!("{{ git = \"{}\"{rev} }}", toml_escape(url)),
            format!("from git ({url})"),
        ));
    }
    let path = match &args.sdk_path {
        Some(path) => path.clone(),
        None => PathBuf::from(BUILT_FROM_SDK),
    };
    let path = path
        .canonicalize()
        .ok()
        .filter(|p| p.join("Cargo.toml").is_file());
    let Some(path) = path else {
        bail!(
            "{}; pass --sdk-path DIR (the `sdk/rust` folder of a Sluice checkout) or --sdk-git URL",
            match &args.sdk_path {
                Some(p) => format!("no Rust SDK at {}", p.display()),
                None => "the Rust SDK is not published yet and this binary was not built from a checkout that is still here".to_owned(),
            }
        );
    };
    let shown = path.display().to_string();
    Ok((
        format!("{{ path = \"{}\" }}", toml_escape(&shown)),
        format!("from the local checkout at {shown}"),
    ))
}

fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if !ok {
        bail!(
            "`{name}` is not a plugin name: use lowercase letters, digits and `-`, starting with a letter (at most 64)"
        );
    }
    Ok(())
}

/// Text safe inside a double-quoted TOML (or Python) string.
fn toml_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c if c.is_control() => vec![' '],
            c => vec![c],
        })
        .collect()
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    if path.extension().is_some_and(|e| e == "sh") {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make {} executable", path.display()))?;
    }
    Ok(())
}
