//! Compiling a component in a child process under resource limits.
//!
//! The static scan ([`super::inspect`]) refuses the known shapes of
//! compile bombs; this bounds everything else. The `sluice` binary runs
//! itself with a hidden subcommand that caps its own data segment (heap and
//! private writable mappings) and CPU time, reads the component from stdin,
//! compiles it with the very engine settings of the host and writes the
//! artifact to stdout. The host kills it past a wall-clock bound, reads at
//! most a bounded number of bytes back, and reports a failure as an
//! invalid component with the bound that stopped it.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

/// The hidden subcommand of the `sluice` binary that compiles.
pub const COMPILE_SUBCOMMAND: &str = "__compile-component";

/// Resource bounds of one compilation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileBounds {
    /// Memory the compiler may use (its data segment), in bytes.
    pub memory_bytes: u64,
    /// CPU time it may use, in seconds.
    pub cpu_seconds: u64,
    /// Wall-clock time before it is killed.
    pub wall: Duration,
    /// Largest artifact accepted back, in bytes.
    pub max_output_bytes: u64,
}

impl Default for CompileBounds {
    fn default() -> Self {
        CompileBounds {
            memory_bytes: 2 << 30,
            cpu_seconds: 120,
            wall: Duration::from_secs(600),
            max_output_bytes: 1 << 30,
        }
    }
}

/// Where compilation happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiler {
    /// The `sluice` executable to run with [`COMPILE_SUBCOMMAND`].
    pub exe: PathBuf,
    /// Its bounds.
    pub bounds: CompileBounds,
}

impl Compiler {
    /// The running executable when it is `sluice` (not a test harness or
    /// another program embedding the library), with default bounds.
    pub fn current() -> Option<Compiler> {
        let exe = std::env::current_exe().ok()?;
        (exe.file_stem()? == "sluice").then(|| Compiler {
            exe,
            bounds: CompileBounds::default(),
        })
    }

    /// Compile `bytes` in a child process; the error is a reason for a person.
    pub fn compile(&self, bytes: &[u8]) -> Result<Vec<u8>, String> {
        let started = Instant::now();
        let mut child = Command::new(&self.exe)
            .arg(COMPILE_SUBCOMMAND)
            .arg(self.bounds.memory_bytes.to_string())
            .arg(self.bounds.cpu_seconds.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("RUST_LOG")
            .spawn()
            .map_err(|e| format!("cannot start the compiler {}: {e}", self.exe.display()))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let limit = self.bounds.max_output_bytes;
        std::thread::scope(|scope| {
            scope.spawn(move || {
                // A child that dies early closes the pipe; its status says why.
                let _ = stdin.write_all(bytes);
            });
            let out = scope.spawn(move || {
                let mut out = Vec::new();
                let read = (&mut stdout).take(limit + 1).read_to_end(&mut out);
                read.map(|_| out)
            });
            let err = scope.spawn(move || {
                let mut text = Vec::new();
                let _ = (&mut stderr).take(8 << 10).read_to_end(&mut text);
                String::from_utf8_lossy(&text).into_owned()
            });
            let status = match child.wait_timeout(self.bounds.wall) {
                Ok(Some(status)) => status,
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "compiling took longer than {} s; the component is refused",
                        self.bounds.wall.as_secs()
                    ));
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("waiting for the compiler failed: {e}"));
                }
            };
            let out = out.join().expect("reader thread");
            let err = err.join().expect("reader thread");
            tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, status = %status, "Compiler process finished.");
            if status.success() {
                let out = out.map_err(|e| format!("reading the compiled artifact: {e}"))?;
                if out.len() as u64 > limit {
                    return Err(format!(
                        "its compiled form is larger than {limit} bytes; the component is refused"
                    ));
                }
                return Ok(out);
            }
            Err(describe_failure(&status, &err, &self.bounds))
        })
    }
}

fn describe_failure(
    status: &std::process::ExitStatus,
    stderr: &str,
    bounds: &CompileBounds,
) -> String {
    let said = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    if status.code() == Some(EXIT_INVALID) {
        return said;
    }
    let memory = said.contains("memory allocation")
        || said.contains("out of memory")
        || said.contains("Cannot allocate memory");
    if memory {
        return format!(
            "compiling it needed more than the {} MiB of memory compilation may use; the component is refused",
            bounds.memory_bytes >> 20
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        // SIGXCPU (24) at the soft CPU limit, SIGKILL (9) at the hard one.
        if matches!(status.signal(), Some(24 | 9)) {
            return format!(
                "compiling it used more than the {} s of CPU time compilation may use; the component is refused",
                bounds.cpu_seconds
            );
        }
        if status.signal().is_some() {
            return format!(
                "the compiler died ({status}) — most likely it ran out of the {} MiB of memory compilation may use; the component is refused",
                bounds.memory_bytes >> 20
            );
        }
    }
    format!("the compiler failed ({status}): {said}")
}

/// Exit code of the compiler process for a component wasmtime refuses.
const EXIT_INVALID: i32 = 3;

/// The compiler process: `sluice __compile-component MEMORY_BYTES CPU_SECONDS`.
pub fn child_main(args: &[String]) -> ExitCode {
    let parse = |i: usize| args.get(i).and_then(|a| a.parse::<u64>().ok());
    let (Some(memory), Some(cpu)) = (parse(0), parse(1)) else {
        eprintln!("usage: sluice {COMPILE_SUBCOMMAND} MEMORY_BYTES CPU_SECONDS");
        return ExitCode::from(2);
    };
    if let Err(e) = limit_self(memory, cpu) {
        eprintln!("cannot set the compiler's resource limits: {e}");
        return ExitCode::from(2);
    }
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
        eprintln!("cannot read the component: {e}");
        return ExitCode::from(2);
    }
    let engine = match super::runtime::compile_engine() {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("cannot start the compiler: {e:#}");
            return ExitCode::from(2);
        }
    };
    match engine.precompile_component(&bytes) {
        Ok(artifact) => {
            let mut out = std::io::stdout().lock();
            if out.write_all(&artifact).and_then(|()| out.flush()).is_err() {
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::from(EXIT_INVALID as u8)
        }
    }
}

fn limit_self(memory: u64, cpu: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use rlimit::Resource;
        Resource::DATA.set(memory, memory)?;
        Resource::CPU.set(cpu, cpu.saturating_add(5))?;
        // No core dumps of a compiler that ran out of its bounds.
        Resource::CORE.set(0, 0)?;
    }
    let _ = (memory, cpu);
    Ok(())
}
