use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{http, log, v0_1_0};

use super::limits::Limits;
use crate::connection::Connection;

/// Where a granted directory appears inside the sandbox.
pub const GUEST_DATA_DIR: &str = "/data";

/// Bytes of a plugin's stderr kept for error messages.
const STDERR_CAPTURE_BYTES: usize = 64 << 10;

/// Capabilities granted to one plugin instance. Everything not granted is
/// denied: no environment, no arguments, no sockets, no files.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// A host directory mounted at `/data`, and whether the plugin may write to it.
    pub data_dir: Option<(PathBuf, bool)>,
    /// Interfaces the plugin may link although nothing is granted through
    /// them (`wasi:filesystem`, `wasi:sockets`).
    pub allow: Vec<String>,
    /// The connection its `http` requests go through (connectors only).
    pub connection: Option<Arc<Connection>>,
    /// The watch over a target's directory: write quota, no links out.
    pub dir_guard: Option<Arc<super::DirGuard>>,
    /// Where these grants are written, so a refusal says how to grant more.
    pub grant_via: super::capabilities::GrantVia,
}

/// The per-instance state inside a wasmtime `Store`.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    stderr: MemoryOutputPipe,
    pub(super) limiter: MemoryLimiter,
    pub(super) log: LogBudget,
    /// When the current call must end; blocking host calls wait no longer.
    pub(super) deadline: Option<Instant>,
    /// Set when a blocking host call was cut at the deadline.
    pub(super) deadline_hit: bool,
    plugin: Arc<str>,
    connection: Option<Arc<Connection>>,
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState")
            .field("plugin", &self.plugin)
            .finish_non_exhaustive()
    }
}

impl HostState {
    /// Fresh state for one instance of `plugin`.
    pub fn new(plugin: Arc<str>, grants: &Grants, limits: &Limits) -> wasmtime::Result<Self> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE_BYTES);
        let mut builder = WasiCtx::builder();
        builder.stderr(stderr.clone());
        // File reads and writes run on the calling thread instead of being
        // handed to tokio's blocking pool and waited for: the stage thread
        // waits for them either way (the bindings are synchronous, and a
        // file operation is not cut at the deadline in either case), so
        // the hop only cost two thread switches per read or write. Must be
        // set before the directory is preopened, which copies it.
        builder.allow_blocking_current_thread(true);
        if let Some((dir, writable)) = &grants.data_dir {
            let perms = if *writable {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            };
            builder.preopened_dir(dir, GUEST_DATA_DIR, perms)?;
        }
        Ok(HostState {
            wasi: builder.build(),
            table: ResourceTable::new(),
            stderr,
            limiter: MemoryLimiter::new(limits),
            log: LogBudget::new(limits.log_lines_per_call),
            deadline: None,
            deadline_hit: false,
            plugin,
            connection: grants.connection.clone(),
        })
    }

    /// Time left before the current call's deadline (none set: unbounded).
    pub(super) fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// The resource table, for host functions defined beside WASI's.
    pub(super) fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// The last lines the plugin wrote to stderr (panic messages, tracebacks).
    pub fn stderr_tail(&self) -> Option<String> {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(12);
        Some(lines[start..].join("\n"))
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps the total size of all linear memories of an instance, the total
/// elements of all its tables, and how many core instances, tables and
/// memories it creates; remembers whether a cap was hit, so a guest that
/// aborts after a failed allocation is reported as `memory-limit` rather
/// than as a plain trap.
///
/// A store holds exactly one plugin instance and nothing it creates is
/// freed before the store is dropped, so the sum of every approved growth
/// is the instance's total. Growth approved here that the engine then fails
/// to perform stays counted: the total errs on the high side.
#[derive(Debug)]
pub(super) struct MemoryLimiter {
    max_bytes: usize,
    max_table_elements: usize,
    max_instances: usize,
    max_memories: usize,
    /// Set when a memory grow was refused during the current call.
    pub hit: bool,
    /// Set when a table grow was refused during the current call.
    pub table_hit: bool,
    /// Bytes of all linear memories together.
    pub total_bytes: usize,
    /// Elements of all tables together.
    total_elements: usize,
    /// Largest total of all linear memories seen.
    pub peak_bytes: usize,
}

impl MemoryLimiter {
    fn new(limits: &Limits) -> Self {
        MemoryLimiter {
            max_bytes: limits.memory_bytes,
            max_table_elements: limits.max_table_elements,
            max_instances: limits.max_instances,
            max_memories: limits.max_memories,
            hit: false,
            table_hit: false,
            total_bytes: 0,
            total_elements: 0,
            peak_bytes: 0,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .total_bytes
            .saturating_add(desired.saturating_sub(current));
        if total > self.max_bytes {
            self.hit = true;
            return Ok(false);
        }
        self.total_bytes = total;
        self.peak_bytes = self.peak_bytes.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .total_elements
            .saturating_add(desired.saturating_sub(current));
        if total > self.max_table_elements {
            self.table_hit = true;
            return Ok(false);
        }
        self.total_elements = total;
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.max_instances
    }

    fn tables(&self) -> usize {
        self.max_instances
    }

    fn memories(&self) -> usize {
        self.max_memories
    }
}

/// Log lines left in the current call.
#[derive(Debug)]
pub(super) struct LogBudget {
    per_call: u32,
    left: u32,
    /// Lines dropped in the current call.
    pub dropped: u32,
}

impl LogBudget {
    fn new(per_call: u32) -> Self {
        LogBudget {
            per_call,
            left: per_call,
            dropped: 0,
        }
    }

    /// Start a new call.
    pub fn reset(&mut self) {
        self.left = self.per_call;
        self.dropped = 0;
    }
}

/// Longest log line kept; longer ones are cut.
const MAX_LOG_LINE: usize = 4096;

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) {
        if self.log.left == 0 {
            if self.log.dropped == 0 {
                tracing::warn!(plugin = %self.plugin, limit = self.log.per_call, "Plugin log limit reached; dropping further lines of this call.");
            }
            self.log.dropped += 1;
            return;
        }
        self.log.left -= 1;
        let mut message = message;
        if message.len() > MAX_LOG_LINE {
            let mut end = MAX_LOG_LINE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push('…');
        }
        // The line goes to a terminal: no control characters, no secrets.
        let escaped = crate::text::escape(&message);
        let message = match &self.connection {
            Some(c) => c.redact_secrets(&escaped).into_owned(),
            None => escaped.into_owned(),
        };
        let plugin = &*self.plugin;
        match level {
            log::Level::Trace => tracing::trace!(plugin, "{message}"),
            log::Level::Debug => tracing::debug!(plugin, "{message}"),
            log::Level::Info => tracing::info!(plugin, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, "{message}"),
            log::Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

impl http::Host for HostState {
    fn send(
        &mut self,
        request: http::Request,
    ) -> wasmtime::Result<Result<http::Response, http::HttpError>> {
        if let Some(connection) = &self.connection {
            let answer = connection.send_before(request, self.deadline);
            // A request the deadline cut ends the call, like any other
            // blocking host call at the deadline.
            if matches!(answer, Err(http::HttpError::Timeout))
                && self.deadline.is_some_and(|d| Instant::now() >= d)
            {
                self.deadline_hit = true;
                return Err(super::deadline::DeadlineReached.into());
            }
            return Ok(answer);
        }
        tracing::warn!(plugin = %self.plugin, url = %request.url, "Plugin HTTP request denied: no connection is granted to it.");
        Ok(Err(http::HttpError::Denied(format!(
            "no connection is granted to this plugin, so it may not reach {}",
            request.url
        ))))
    }
}

/// `log` of sluice:plugin@0.1.0: the same log, through the adapter.
impl v0_1_0::log::Host for HostState {
    fn log(&mut self, level: v0_1_0::log::Level, message: String) {
        log::Host::log(self, level.into(), message);
    }
}

/// `http` of sluice:plugin@0.1.0: the same client, through the adapter.
impl v0_1_0::http::Host for HostState {
    fn send(
        &mut self,
        request: v0_1_0::http::Request,
    ) -> wasmtime::Result<Result<v0_1_0::http::Response, v0_1_0::http::HttpError>> {
        Ok(http::Host::send(self, request.into())?
            .map(Into::into)
            .map_err(Into::into))
    }
}
