//! transformer.zig: the contract's `transform` exports (world
//! `field-transformer`, sluice:plugin@0.2.0) implemented with a plugin's
//! `info`, `configure` and `transform`:
//!
//! ```zig
//! pub fn configure(options: []const u8) sluice.Result(void)
//! pub fn transform(value: sluice.Value) sluice.Result(sluice.Value)
//! ```
//!
//! Ownership at the boundary, as the C bindings (bindings/field_transformer.c)
//! define it: an export receives its arguments owned (freed here after use)
//! and returns malloc'd results, which the bindings free after the host has
//! copied them (the `cabi_post_*` functions). So every text a plugin returns
//! is copied into malloc'd memory here.

const std = @import("std");
const sluice = @import("sluice.zig");
const b = @import("bindings/field_transformer.zig");

const WitString = b.field_transformer_string_t;
const WitValue = b.exports_sluice_plugin_transform_value_t;
const WitError = b.exports_sluice_plugin_transform_plugin_error_t;
const WitResult = b.exports_sluice_plugin_transform_result_value_plugin_error_t;
const WitOther = b.exports_sluice_plugin_transform_tuple2_u32_result_value_plugin_error_t;

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

fn fromWit(v: WitValue) sluice.Value {
    return switch (v.tag) {
        0 => .null,
        1 => .{ .boolean = v.val.boolean },
        2 => .{ .integer = v.val.integer },
        3 => .{ .float = v.val.float_ },
        4 => .{ .text = slice(v.val.text) },
        5 => .{ .json = slice(v.val.json) },
        6 => .{ .decimal = slice(v.val.decimal) },
        7 => .{ .timestamp = slice(v.val.timestamp) },
        else => .null,
    };
}

fn toWit(v: sluice.Value) WitValue {
    var out: WitValue = .{ .tag = @intFromEnum(std.meta.activeTag(v)) };
    switch (v) {
        .null => {},
        .boolean => |x| out.val = .{ .boolean = x },
        .integer => |x| out.val = .{ .integer = x },
        .float => |x| out.val = .{ .float_ = x },
        .text => |x| out.val = .{ .text = owned(x) },
        .json => |x| out.val = .{ .json = owned(x) },
        .decimal => |x| out.val = .{ .decimal = owned(x) },
        .timestamp => |x| out.val = .{ .timestamp = owned(x) },
    }
    return out;
}

fn toWitResult(r: sluice.Result(sluice.Value)) WitResult {
    return switch (r) {
        .ok => |v| .{ .is_err = false, .val = .{ .ok = toWit(v) } },
        .err => |e| .{ .is_err = true, .val = .{ .err = toWitError(e) } },
    };
}

/// Export the world's functions, implemented with `Plugin`.
pub fn exportPlugin(comptime Plugin: type) void {
    const Glue = struct {
        fn describe(ret: *b.exports_sluice_plugin_transform_descriptor_t) callconv(.c) void {
            const info: sluice.Info = Plugin.info;
            ret.* = .{
                .name = owned(info.name),
                .version = owned(info.version),
                .description = owned(info.description),
                .world = owned("field-transformer"),
                .options_schema = owned(info.options_schema),
            };
        }

        fn configure(options: *WitString, err: *WitError) callconv(.c) bool {
            // Freed after the result is copied: an error may point into the options.
            defer {
                b.field_transformer_string_free(options);
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

        fn transform(
            values: *b.exports_sluice_plugin_transform_list_value_t,
            ret: *b.exports_sluice_plugin_transform_list_result_value_plugin_error_t,
        ) callconv(.c) void {
            const n = values.len;
            ret.len = n;
            ret.ptr = null;
            if (n > 0) {
                const p: [*]WitResult = @ptrCast(@alignCast(std.c.malloc(n * @sizeOf(WitResult)) orelse @trap()));
                for (0..n) |i| {
                    p[i] = toWitResult(Plugin.transform(fromWit(values.ptr[i])));
                    sluice.resetScratch();
                }
                ret.ptr = p;
            }
            b.exports_sluice_plugin_transform_list_value_free(values);
        }

        /// The packed text path: the same `transform` on each text, text
        /// results packed back into `text`, the others into `others`.
        fn transformText(
            batch: *b.exports_sluice_plugin_transform_text_batch_t,
            ret: *b.exports_sluice_plugin_transform_text_answer_t,
        ) callconv(.c) void {
            const count = batch.ends.len;
            const input = slice(batch.text);
            var text: std.ArrayList(u8) = .empty;
            var others: std.ArrayList(WitOther) = .empty;
            const ends: [*]u32 = @ptrCast(@alignCast(std.c.malloc(@max(count, 1) * 4) orelse @trap()));
            var start: u32 = 0;
            for (0..count) |i| {
                var end = batch.ends.ptr[i];
                // The host never sends this; stay in bounds anyway.
                if (end < start or end > input.len) end = start;
                const result = Plugin.transform(.{ .text = input[start..end] });
                start = end;
                switch (result) {
                    .ok => |v| switch (v) {
                        .text => |t| text.appendSlice(sluice.allocator, t) catch @trap(),
                        else => others.append(sluice.allocator, .{ .f0 = @intCast(i), .f1 = toWitResult(result) }) catch @trap(),
                    },
                    .err => others.append(sluice.allocator, .{ .f0 = @intCast(i), .f1 = toWitResult(result) }) catch @trap(),
                }
                ends[i] = @intCast(text.items.len);
                sluice.resetScratch();
            }
            b.exports_sluice_plugin_transform_text_batch_free(batch);
            // `text` was allocated with malloc (c_allocator): handed over as
            // it is, the bindings free it.
            if (text.items.len > 0) {
                ret.text = .{ .ptr = text.items.ptr, .len = text.items.len };
            } else {
                text.deinit(sluice.allocator);
                ret.text = .{ .ptr = null, .len = 0 };
            }
            ret.ends = .{ .ptr = if (count > 0) ends else blk: {
                std.c.free(ends);
                break :blk null;
            }, .len = count };
            // `others` was allocated with malloc (c_allocator): the bindings free it.
            ret.others = .{
                .ptr = if (others.items.len > 0) others.items.ptr else null,
                .len = others.items.len,
            };
            if (others.items.len == 0) others.deinit(sluice.allocator);
        }
    };
    @export(&Glue.describe, .{ .name = "exports_sluice_plugin_transform_describe" });
    @export(&Glue.configure, .{ .name = "exports_sluice_plugin_transform_configure" });
    @export(&Glue.transform, .{ .name = "exports_sluice_plugin_transform_transform" });
    @export(&Glue.transformText, .{ .name = "exports_sluice_plugin_transform_transform_text" });
}
