//! `sluice plugin doctor --lang LANG`: which pieces of a language's plugin
//! toolchain are missing, and how to get them.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use clap::Args;
use serde::Serialize;

use super::Exit;
use super::Format;
use super::plugin_new::Lang;
use super::render::{clip, print_json, table};

/// `sluice plugin doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The language whose toolchain to check.
    #[arg(long, value_enum)]
    lang: Lang,
    #[command(flatten)]
    format: Format,
}

/// One piece of a toolchain.
struct Piece {
    /// What it is, for people.
    what: &'static str,
    /// How to tell it is there.
    probe: Probe,
    /// How to get it.
    get: &'static str,
}

enum Probe {
    /// A program named by an environment variable, on PATH, or installed by
    /// npm in the current folder (`node_modules/.bin`), that answers these
    /// arguments successfully.
    Program {
        env: Option<&'static str>,
        name: &'static str,
        args: &'static [&'static str],
    },
    /// The Rust standard library for a target, in rustc's sysroot.
    RustTarget(&'static str),
    /// A file whose path a program prints (`clang --print-libgcc-file-name`).
    PrintedFile {
        env: Option<&'static str>,
        name: &'static str,
        args: &'static [&'static str],
    },
    /// A program that rustup ships in rustc's sysroot
    /// (`lib/rustlib/<host>/bin`), or on PATH.
    RustTool(&'static str),
    /// The first of these probes that finds something.
    AnyOf(&'static [Probe]),
    /// One of these directories exists (or the one an environment variable names).
    Dir {
        env: Option<&'static str>,
        paths: &'static [&'static str],
    },
}

/// What was found of one piece.
#[derive(Debug, Serialize)]
struct Found {
    piece: &'static str,
    present: bool,
    /// Its version line, or where it is.
    detail: Option<String>,
    how_to_get: &'static str,
}

fn pieces(lang: Lang) -> Vec<Piece> {
    let program = |name, args| Probe::Program {
        env: None,
        name,
        args,
    };
    match lang {
        Lang::Rust => vec![
            Piece {
                what: "cargo",
                probe: program("cargo", &["--version"]),
                get: "install Rust with rustup: https://rustup.rs",
            },
            Piece {
                what: "rustc",
                probe: program("rustc", &["--version"]),
                get: "install Rust with rustup: https://rustup.rs",
            },
            Piece {
                what: "the wasm32-wasip2 target",
                probe: Probe::RustTarget("wasm32-wasip2"),
                get: "rustup target add wasm32-wasip2 (a project made by `sluice plugin new` asks rustup for it on first use)",
            },
        ],
        Lang::Python => vec![
            Piece {
                what: "python3",
                probe: program("python3", &["--version"]),
                get: "install Python 3.10 or later (apt install python3)",
            },
            Piece {
                what: "componentize-py",
                probe: Probe::Program {
                    env: Some("COMPONENTIZE_PY"),
                    name: "componentize-py",
                    args: &["--version"],
                },
                get: "pip install componentize-py==0.25.1 (or set COMPONENTIZE_PY to the program)",
            },
        ],
        Lang::Js | Lang::Ts => {
            let mut pieces = vec![
                Piece {
                    what: "node",
                    probe: program("node", &["--version"]),
                    get: "install Node.js 20 or later (apt install nodejs npm)",
                },
                Piece {
                    what: "npm",
                    probe: program("npm", &["--version"]),
                    get: "comes with Node.js (apt install npm)",
                },
                Piece {
                    what: "componentize-js",
                    probe: Probe::Program {
                        env: Some("COMPONENTIZE_JS"),
                        name: "componentize-js",
                        args: &["--version"],
                    },
                    get: "`npm install` in the project (its package.json pins @bytecodealliance/componentize-js 0.23.0; build.sh runs it), or set COMPONENTIZE_JS to the program",
                },
            ];
            if lang == Lang::Ts {
                pieces.push(Piece {
                    what: "tsc (TypeScript)",
                    probe: Probe::Program {
                        env: Some("TSC"),
                        name: "tsc",
                        args: &["--version"],
                    },
                    get: "`npm install` in the project (its package.json pins typescript 5.9.3; build.sh runs it), or set TSC to the program",
                });
            }
            pieces
        }
        Lang::C => vec![
            Piece {
                what: "clang",
                probe: Probe::Program {
                    env: Some("CC"),
                    name: "clang",
                    args: &["--version"],
                },
                get: "apt install clang (or wasi-sdk: set CC to its clang)",
            },
            Piece {
                what: "wasm-ld",
                probe: program("wasm-ld", &["--version"]),
                get: "apt install lld (or wasi-sdk)",
            },
            Piece {
                what: "wasi-libc",
                probe: Probe::Dir {
                    env: Some("WASI_SYSROOT"),
                    paths: &[
                        "/usr/lib/wasm32-wasi",
                        "/usr/share/wasi-sysroot",
                        "/opt/wasi-sdk/share/wasi-sysroot",
                    ],
                },
                get: "apt install wasi-libc (or wasi-sdk: set WASI_SYSROOT to its share/wasi-sysroot)",
            },
            Piece {
                what: "wasm32 compiler builtins",
                probe: Probe::PrintedFile {
                    env: Some("CC"),
                    name: "clang",
                    args: &["--target=wasm32-wasi", "--print-libgcc-file-name"],
                },
                get: "apt install libclang-rt-14-dev-wasm32 (the package named after your clang's major version; or wasi-sdk)",
            },
            Piece {
                what: "wasm-component-ld",
                probe: Probe::RustTool("wasm-component-ld"),
                get: "install Rust with rustup (https://rustup.rs): every toolchain ships wasm-component-ld; or set WASM_COMPONENT_LD",
            },
        ],
        Lang::Zig => vec![
            Piece {
                what: "zig (0.17)",
                // What build.sh looks for: $ZIG, zig on PATH, PyPI's ziglang.
                probe: Probe::AnyOf(&[
                    Probe::Program {
                        env: Some("ZIG"),
                        name: "zig",
                        args: &["version"],
                    },
                    Probe::Program {
                        env: None,
                        name: "python3",
                        args: &["-m", "ziglang", "version"],
                    },
                ]),
                get: "pip install ziglang==0.17.1 (build.sh also finds the one `python3 -m ziglang` runs), or https://ziglang.org/download; or set ZIG",
            },
            Piece {
                what: "wasm-component-ld",
                probe: Probe::RustTool("wasm-component-ld"),
                get: "install Rust with rustup (https://rustup.rs): every toolchain ships wasm-component-ld; or set WASM_COMPONENT_LD",
            },
        ],
        Lang::Go => vec![Piece {
            what: "tinygo (0.34 or later)",
            probe: program("tinygo", &["version"]),
            get: "https://tinygo.org/getting-started/install (Go plugins are not supported by `sluice plugin new` yet)",
        }],
    }
}

/// Check every piece of `--lang`'s toolchain; exit 1 when one is missing.
pub fn doctor(args: &DoctorArgs) -> anyhow::Result<Exit> {
    let found: Vec<Found> = pieces(args.lang)
        .into_iter()
        .map(|p| {
            let detail = probe(&p.probe);
            Found {
                piece: p.what,
                present: detail.is_some(),
                detail,
                how_to_get: p.get,
            }
        })
        .collect();
    let missing = found.iter().filter(|f| !f.present).count();
    if args.format.json {
        print_json(&serde_json::json!({
            "lang": format!("{:?}", args.lang).to_lowercase(),
            "missing": missing,
            "pieces": found,
        }))?;
    } else {
        let mut t = table(&["PIECE", "STATUS", "HOW TO GET IT"], &[]);
        for f in &found {
            t.add_row(vec![
                f.piece.to_owned(),
                match &f.detail {
                    Some(d) => format!("ok: {}", clip(d, 50)),
                    None => "MISSING".to_owned(),
                },
                if f.present { "-" } else { f.how_to_get }.to_owned(),
            ]);
        }
        outln!("{t}");
        outln!(
            "{}",
            if missing == 0 {
                "Everything needed is installed.".to_owned()
            } else {
                format!("{missing} missing.")
            }
        );
    }
    Ok(if missing == 0 {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// What the probe found: a version line or a path; `None`: missing.
fn probe(probe: &Probe) -> Option<String> {
    match probe {
        Probe::Program { env, name, args } => {
            let candidates: Vec<PathBuf> = match env.and_then(std::env::var_os) {
                Some(program) => vec![PathBuf::from(program)],
                None => vec![
                    PathBuf::from(name),
                    PathBuf::from("node_modules/.bin").join(name),
                ],
            };
            candidates
                .iter()
                .find_map(|program| run_version(program, args))
        }
        Probe::RustTarget(target) => {
            let out = Command::new("rustc")
                .args(["--print", "sysroot"])
                .stdin(Stdio::null())
                .output()
                .ok()?;
            let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            let dir = PathBuf::from(sysroot).join("lib/rustlib").join(target);
            dir.is_dir().then(|| dir.display().to_string())
        }
        Probe::PrintedFile { env, name, args } => {
            let program = env
                .and_then(std::env::var_os)
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(name));
            let out = Command::new(program)
                .args(*args)
                .stdin(Stdio::null())
                .output()
                .ok()?;
            let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            (out.status.success() && path.is_file()).then(|| path.display().to_string())
        }
        Probe::RustTool(name) => {
            if let Some(found) = std::env::var_os("WASM_COMPONENT_LD")
                .filter(|_| *name == "wasm-component-ld")
                .map(PathBuf::from)
                .filter(|p| p.is_file())
            {
                return Some(found.display().to_string());
            }
            if let Some(found) = run_version(&PathBuf::from(name), &["--version"]) {
                return Some(found);
            }
            let out = Command::new("rustc")
                .args(["--print", "sysroot"])
                .stdin(Stdio::null())
                .output()
                .ok()?;
            let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            std::fs::read_dir(sysroot.join("lib/rustlib"))
                .ok()?
                .flatten()
                .map(|entry| entry.path().join("bin").join(name))
                .find(|p| p.is_file())
                .map(|p| p.display().to_string())
        }
        Probe::AnyOf(probes) => probes.iter().find_map(self::probe),
        Probe::Dir { env, paths } => env
            .and_then(std::env::var_os)
            .map(PathBuf::from)
            .into_iter()
            .chain(paths.iter().map(PathBuf::from))
            .find(|p| p.is_dir())
            .map(|p| p.display().to_string()),
    }
}

/// The first line `program args` prints, or its path; `None` when it does
/// not run or fails.
fn run_version(program: &PathBuf, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| {
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().next().unwrap_or("").trim();
        if line.is_empty() {
            program.display().to_string()
        } else {
            line.to_owned()
        }
    })
}
