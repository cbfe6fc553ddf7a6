//! normalizer.zig: the contract's `normalize` exports (world `normalizer`,
//! sluice:plugin@0.2.0) implemented with a plugin's `info`, `configure` and
//! `normalize`:
//!
//! ```zig
//! pub fn configure(options: []const u8) sluice.Result(void)
//! pub fn normalize(record: []const u8) sluice.Result(sluice.Normalized)
//! ```
//!
//! `record` is JSON object text, borrowed for the call; the glue copies
//! what `normalize` returns into malloc'd memory, which the C bindings
//! (bindings/normalizer.c) free after the host has copied it.

const std = @import("std");
const sluice = @import("sluice.zig");
const b = @import("bindings/normalizer.zig");

const WitString = b.normalizer_string_t;
const WitError = b.exports_sluice_plugin_normalize_plugin_error_t;
const WitResult = b.exports_sluice_plugin_normalize_result_normalized_plugin_error_t;

/// A malloc'd copy of `text` as a contract string (null when empty).
fn owned(text: []const u8) WitString {
    if (text.len == 0) return .{ .ptr = null, .len = 0 };
    const p: [*]u8 = @ptrCast(std.c.malloc(text.len) orelse @trap());
    @memcpy(p[0..text.len], text);
    return .{ .ptr = p, .len = text.len };
}

fn slice(s: WitString) []const u8 {
    return if (s.len == 0) "" else s.ptr[0..s.len];
}

fn toWitError(e: sluice.Failure) WitError {
    return .{
        .category = @intFromEnum(e.category),
        .code = owned(e.code),
        .message = owned(e.message),
        .field = if (e.field) |f| .{ .is_some = true, .val = owned(f) } else .{},
        .retryable = e.retryable,
        .retry_after_ms = .{},
    };
}

/// Export the world's functions, implemented with `Plugin`.
pub fn exportPlugin(comptime Plugin: type) void {
    const Glue = struct {
        fn describe(ret: *b.exports_sluice_plugin_normalize_descriptor_t) callconv(.c) void {
            const info: sluice.Info = Plugin.info;
            ret.* = .{
                .name = owned(info.name),
                .version = owned(info.version),
                .description = owned(info.description),
                .world = owned("normalizer"),
                .options_schema = owned(info.options_schema),
            };
        }

        fn configure(options: *WitString, err: *WitError) callconv(.c) bool {
            // Freed after the result is copied: an error may point into the options.
            defer {
                b.normalizer_string_free(options);
                sluice.resetScratch();
            }
            const result = Plugin.configure(slice(options.*));
            switch (result) {
                .ok => return true,
                .err => |e| {
                    err.* = toWitError(e);
                    return false;
                },
            }
        }

        fn normalize(
            records: *b.normalizer_list_string_t,
            ret: *b.exports_sluice_plugin_normalize_list_result_normalized_plugin_error_t,
        ) callconv(.c) void {
            const n = records.len;
            ret.len = n;
            ret.ptr = null;
            if (n > 0) {
                const p: [*]WitResult = @ptrCast(@alignCast(std.c.malloc(n * @sizeOf(WitResult)) orelse @trap()));
                for (0..n) |i| {
                    p[i] = switch (Plugin.normalize(slice(records.ptr[i]))) {
                        .ok => |done| switch (done) {
                            .keep => |record| .{ .is_err = false, .val = .{ .ok = .{ .tag = 0, .val = .{ .keep = owned(record) } } } },
                            .skip => |reason| .{ .is_err = false, .val = .{ .ok = .{ .tag = 1, .val = .{ .skip = owned(reason) } } } },
                        },
                        .err => |e| .{ .is_err = true, .val = .{ .err = toWitError(e) } },
                    };
                    sluice.resetScratch();
                }
                ret.ptr = p;
            }
            b.normalizer_list_string_free(records);
        }
    };
    @export(&Glue.describe, .{ .name = "exports_sluice_plugin_normalize_describe" });
    @export(&Glue.configure, .{ .name = "exports_sluice_plugin_normalize_configure" });
    @export(&Glue.normalize, .{ .name = "exports_sluice_plugin_normalize_normalize" });
}
