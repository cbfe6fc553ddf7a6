//! sluice.zig: the SDK for Sluice plugins written in Zig (sluice:plugin@0.2.0).
//!
//! A plugin is one Zig file that declares what it is (`pub const info`) and
//! the functions of its kind, then hands itself to the glue of its world:
//!
//! ```zig
//! const sluice = @import("sluice");
//! pub const panic = sluice.panic; // no stdio: see below
//! pub const info: sluice.Info = .{ .name = "slug", .version = "0.1.0" };
//! pub fn configure(options: []const u8) sluice.Result(void) { ... }
//! pub fn transform(value: sluice.Value) sluice.Result(sluice.Value) { ... }
//! comptime { sluice.exportTransformer(@This()); }
//! ```
//!
//! The glue (transformer.zig, normalizer.zig) implements the contract's
//! exports on top of the C bindings `wit-bindgen c` generated
//! (bindings/*.c, compiled by `zig cc`; their header translated with `zig
//! translate-c` into bindings/*.zig).
//!
//! Ownership: inputs (a value's text, a record) are borrowed for the call;
//! everything a plugin returns (texts, error messages) is copied by the glue,
//! so string literals and `scratch` memory are fine. `scratch` is an arena
//! emptied after every call; keep what must outlive a call (options) in
//! `allocator`.
//!
//! Imports: nothing here uses stdio, files, clocks or randomness, so a
//! component built with it imports only the contract (`log`). Zig's default
//! panic handler writes to stderr and imports 29 `wasi_snapshot_preview1`
//! functions: a plugin's root file must say `pub const panic = sluice.panic;`
//! (a panic then traps: the host fails the batch and restarts the plugin).

const std = @import("std");

/// The panic handler a plugin's root file must use: trap without printing.
pub const panic = std.debug.no_panic;

/// Long-lived memory (libc malloc): what a plugin keeps across calls.
pub const allocator: std.mem.Allocator = std.heap.c_allocator;

var scratch_arena = std.heap.ArenaAllocator.init(std.heap.c_allocator);

/// Memory for one call, freed by the glue after the call returns.
pub const scratch: std.mem.Allocator = scratch_arena.allocator();

/// Called by the glue after each call (each value of a batch): frees `scratch`.
pub fn resetScratch() void {
    _ = scratch_arena.reset(.retain_capacity);
}

/// What a plugin says about itself (the contract's `descriptor`, less the
/// world, which the glue fills in).
pub const Info = struct {
    name: []const u8,
    version: []const u8,
    description: []const u8 = "",
    /// The options as a JSON Schema document; "{}" accepts anything. The
    /// host checks a pipeline's options against it before `configure`.
    options_schema: []const u8 = "{}",
};

/// The contract's `error-category`, in the same order.
pub const Category = enum(u8) {
    auth,
    permissions,
    plan_quota,
    validation,
    transient,
    connectivity,
    dependency_not_ready,
    correlation,
    mapping,
    config,
};

/// An error a plugin reports (the contract's `plugin-error`). The glue
/// copies its texts.
pub const Failure = struct {
    category: Category,
    /// A stable, kebab-case code (`not-sluggable`).
    code: []const u8,
    /// What went wrong, for people.
    message: []const u8,
    /// The field it concerns, if any.
    field: ?[]const u8 = null,
    /// Whether trying again later may succeed.
    retryable: bool = false,

    /// A `validation` error: the record fails with `code`, the run goes on.
    pub fn validation(code: []const u8, message: []const u8) Failure {
        return .{ .category = .validation, .code = code, .message = message };
    }

    /// A `config` error with code `invalid-options`: from `configure`, the
    /// run stops before reading a record, showing `message`.
    pub fn config(message: []const u8) Failure {
        return .{ .category = .config, .code = "invalid-options", .message = message };
    }

    /// A `mapping` error: the record does not fit what the plugin expects.
    pub fn mapping(code: []const u8, message: []const u8) Failure {
        return .{ .category = .mapping, .code = code, .message = message };
    }
};

/// A result or a `Failure`.
pub fn Result(comptime T: type) type {
    return union(enum) {
        ok: T,
        err: Failure,
    };
}

/// One field value (the contract's `value`). Texts are UTF-8; an input's
/// text is borrowed for the call.
pub const Value = union(enum) {
    null,
    boolean: bool,
    integer: i64,
    float: f64,
    text: []const u8,
    /// JSON text of an object or array.
    json: []const u8,
    /// A decimal number as text (`"12.50"`).
    decimal: []const u8,
    /// An RFC 3339 timestamp as text.
    timestamp: []const u8,
};

/// The contract's log levels, in the same order.
pub const Level = enum(u8) { trace, debug, info, warn, err };

const WitString = extern struct { ptr: [*c]const u8, len: usize };
extern fn sluice_plugin_log_log(level: u8, message: *const WitString) void;

/// Write one line to the host's log (the contract's `log` import): the only
/// way to say something from inside the sandbox (there is no stdio).
pub fn log(level: Level, message: []const u8) void {
    const text: WitString = .{ .ptr = message.ptr, .len = message.len };
    sluice_plugin_log_log(@intFromEnum(level), &text);
}

/// `log` with a format string; the line is built in `scratch`.
pub fn logf(level: Level, comptime format: []const u8, args: anytype) void {
    const line = std.fmt.allocPrint(scratch, format, args) catch return;
    log(level, line);
}

/// Parse the options (JSON object text) into `T`, a struct whose fields
/// have defaults; unknown fields are refused. Allocates in `allocator`
/// (texts in the result stay valid after the call). A malformed or
/// mistyped option becomes a `config` error naming what is wrong.
pub fn parseOptions(comptime T: type, options: []const u8) Result(T) {
    const parsed = std.json.parseFromSliceLeaky(T, allocator, options, .{
        .allocate = .alloc_always,
    }) catch |e| {
        const message = std.fmt.allocPrint(scratch, "the options do not fit: {s}", .{@errorName(e)}) catch "the options do not fit";
        return .{ .err = Failure.config(message) };
    };
    return .{ .ok = parsed };
}

/// Parse a record (JSON object text) into a `std.json.Value` in `scratch`.
/// Numbers stay as the text they were written in (`.number_string`), so a
/// record goes out as it came in.
pub fn parseRecord(record: []const u8) Result(std.json.ObjectMap) {
    const value = std.json.parseFromSliceLeaky(std.json.Value, scratch, record, .{
        .parse_numbers = false,
    }) catch return .{ .err = Failure.validation("not-an-object", "the record is not valid JSON") };
    return switch (value) {
        .object => |object| .{ .ok = object },
        else => .{ .err = Failure.validation("not-an-object", "the record is not a JSON object") },
    };
}

/// A record's JSON text (in `scratch`).
pub fn writeRecord(record: std.json.ObjectMap) []const u8 {
    const value: std.json.Value = .{ .object = record };
    return std.json.Stringify.valueAlloc(scratch, value, .{}) catch @panic("out of memory");
}

/// What became of a record (the contract's `normalized`).
pub const Normalized = union(enum) {
    /// The record to keep (JSON object text).
    keep: []const u8,
    /// Why the record is skipped.
    skip: []const u8,
};

/// Implement the `field-transformer` world's exports with `Plugin`, which
/// declares `info`, `configure` and `transform` (see transformer.zig).
pub fn exportTransformer(comptime Plugin: type) void {
    @import("transformer.zig").exportPlugin(Plugin);
}

/// Implement the `normalizer` world's exports with `Plugin`, which declares
/// `info`, `configure` and `normalize` (see normalizer.zig).
pub fn exportNormalizer(comptime Plugin: type) void {
    @import("normalizer.zig").exportPlugin(Plugin);
}

/// Unicode helpers from libc (wasi-libc, which `zig` links): whether `c` is
/// a letter or digit, and its lowercase form.
pub const unicode = struct {
    extern fn iswalnum(c: u32) c_int;
    extern fn towlower(c: u32) u32;

    pub fn isAlphanumeric(c: u21) bool {
        return iswalnum(c) != 0;
    }

    pub fn toLower(c: u21) u21 {
        const lower = towlower(c);
        return if (lower <= 0x10FFFF) @intCast(lower) else c;
    }
};
