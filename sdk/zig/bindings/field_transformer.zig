const __root = @This();
pub const __builtin = @import("std").zig.c_translation.builtins;
pub const __helpers = @import("std").zig.c_translation.helpers;
pub const intmax_t = c_longlong;
pub const uintmax_t = c_ulonglong;
pub const time_t = c_longlong;
pub const suseconds_t = c_longlong;
pub const struct_timeval = extern struct {
    tv_sec: time_t = 0,
    tv_usec: suseconds_t = 0,
};
pub const struct_timespec = extern struct {
    tv_sec: time_t = 0,
    tv_nsec: c_long = 0,
};
pub const ptrdiff_t = c_long;
pub const wchar_t = c_int;
pub const max_align_t = extern struct {
    __aro_max_align_ll: c_longlong = 0,
    __aro_max_align_ld: c_longdouble = 0,
};
pub const struct_iovec = extern struct {
    iov_base: ?*anyopaque = null,
    iov_len: usize = 0,
};
pub const int_fast8_t = i8;
pub const int_fast64_t = i64;
pub const int_least8_t = i8;
pub const int_least16_t = i16;
pub const int_least32_t = i32;
pub const int_least64_t = i64;
pub const uint_fast8_t = u8;
pub const uint_fast64_t = u64;
pub const uint_least8_t = u8;
pub const uint_least16_t = u16;
pub const uint_least32_t = u32;
pub const uint_least64_t = u64;
pub const int_fast16_t = i16;
pub const int_fast32_t = i32;
pub const uint_fast16_t = u16;
pub const uint_fast32_t = u32;
pub const struct_field_transformer_string_t = extern struct {
    ptr: [*c]u8 = null,
    len: usize = 0,
    pub const exports_sluice_plugin_transform_configure = __root.exports_sluice_plugin_transform_configure;
    pub const field_transformer_string_set = __root.field_transformer_string_set;
    pub const field_transformer_string_dup = __root.field_transformer_string_dup;
    pub const field_transformer_string_dup_n = __root.field_transformer_string_dup_n;
    pub const field_transformer_string_free = __root.field_transformer_string_free;
    pub const configure = __root.exports_sluice_plugin_transform_configure;
    pub const set = __root.field_transformer_string_set;
    pub const dup = __root.field_transformer_string_dup;
    pub const n = __root.field_transformer_string_dup_n;
    pub const free = __root.field_transformer_string_free;
};
pub const field_transformer_string_t = struct_field_transformer_string_t;
pub const sluice_plugin_log_level_t = u8;
const union_unnamed_1 = extern union {
    boolean: bool,
    integer: i64,
    float_: f64,
    text: field_transformer_string_t,
    json: field_transformer_string_t,
    decimal: field_transformer_string_t,
    timestamp: field_transformer_string_t,
};
pub const struct_sluice_plugin_types_value_t = extern struct {
    tag: u8 = 0,
    val: union_unnamed_1 = @import("std").mem.zeroes(union_unnamed_1),
    pub const sluice_plugin_types_value_free = __root.sluice_plugin_types_value_free;
    pub const exports_sluice_plugin_transform_value_free = __root.exports_sluice_plugin_transform_value_free;
    pub const free = __root.sluice_plugin_types_value_free;
};
pub const sluice_plugin_types_value_t = struct_sluice_plugin_types_value_t;
pub const sluice_plugin_types_error_category_t = u8;
pub const field_transformer_option_string_t = extern struct {
    is_some: bool = false,
    val: field_transformer_string_t = @import("std").mem.zeroes(field_transformer_string_t),
    pub const field_transformer_option_string_free = __root.field_transformer_option_string_free;
    pub const free = __root.field_transformer_option_string_free;
};
pub const field_transformer_option_u32_t = extern struct {
    is_some: bool = false,
    val: u32 = 0,
    pub const field_transformer_option_u32_free = __root.field_transformer_option_u32_free;
    pub const free = __root.field_transformer_option_u32_free;
};
pub const struct_sluice_plugin_types_plugin_error_t = extern struct {
    category: sluice_plugin_types_error_category_t = 0,
    code: field_transformer_string_t = @import("std").mem.zeroes(field_transformer_string_t),
    message: field_transformer_string_t = @import("std").mem.zeroes(field_transformer_string_t),
    field: field_transformer_option_string_t = @import("std").mem.zeroes(field_transformer_option_string_t),
    retryable: bool = false,
    retry_after_ms: field_transformer_option_u32_t = @import("std").mem.zeroes(field_transformer_option_u32_t),
    pub const sluice_plugin_types_plugin_error_free = __root.sluice_plugin_types_plugin_error_free;
    pub const exports_sluice_plugin_transform_plugin_error_free = __root.exports_sluice_plugin_transform_plugin_error_free;
    pub const free = __root.sluice_plugin_types_plugin_error_free;
};
pub const sluice_plugin_types_plugin_error_t = struct_sluice_plugin_types_plugin_error_t;
pub const struct_sluice_plugin_types_descriptor_t = extern struct {
    name: field_transformer_string_t = @import("std").mem.zeroes(field_transformer_string_t),
    version: field_transformer_string_t = @import("std").mem.zeroes(field_transformer_string_t),
    description: field_transformer_string_t = @import("std").mem.zeroes(field_transformer_string_t),
    world: field_transformer_string_t = @import("std").mem.zeroes(field_transformer_string_t),
    options_schema: field_transformer_string_t = @import("std").mem.zeroes(field_transformer_string_t),
    pub const exports_sluice_plugin_transform_describe = __root.exports_sluice_plugin_transform_describe;
    pub const sluice_plugin_types_descriptor_free = __root.sluice_plugin_types_descriptor_free;
    pub const exports_sluice_plugin_transform_descriptor_free = __root.exports_sluice_plugin_transform_descriptor_free;
    pub const describe = __root.exports_sluice_plugin_transform_describe;
    pub const free = __root.sluice_plugin_types_descriptor_free;
};
pub const sluice_plugin_types_descriptor_t = struct_sluice_plugin_types_descriptor_t;
pub const exports_sluice_plugin_transform_value_t = sluice_plugin_types_value_t;
pub const exports_sluice_plugin_transform_plugin_error_t = sluice_plugin_types_plugin_error_t;
pub const exports_sluice_plugin_transform_descriptor_t = sluice_plugin_types_descriptor_t;
pub const field_transformer_list_u32_t = extern struct {
    ptr: [*c]u32 = null,
    len: usize = 0,
    pub const field_transformer_list_u32_free = __root.field_transformer_list_u32_free;
    pub const free = __root.field_transformer_list_u32_free;
};
pub const struct_exports_sluice_plugin_transform_text_batch_t = extern struct {
    text: field_transformer_string_t = @import("std").mem.zeroes(field_transformer_string_t),
    ends: field_transformer_list_u32_t = @import("std").mem.zeroes(field_transformer_list_u32_t),
    pub const exports_sluice_plugin_transform_transform_text = __root.exports_sluice_plugin_transform_transform_text;
    pub const exports_sluice_plugin_transform_text_batch_free = __root.exports_sluice_plugin_transform_text_batch_free;
    pub const free = __root.exports_sluice_plugin_transform_text_batch_free;
};
pub const exports_sluice_plugin_transform_text_batch_t = struct_exports_sluice_plugin_transform_text_batch_t;
const union_unnamed_2 = extern union {
    ok: exports_sluice_plugin_transform_value_t,
    err: exports_sluice_plugin_transform_plugin_error_t,
};
pub const exports_sluice_plugin_transform_result_value_plugin_error_t = extern struct {
    is_err: bool = false,
    val: union_unnamed_2 = @import("std").mem.zeroes(union_unnamed_2),
    pub const exports_sluice_plugin_transform_result_value_plugin_error_free = __root.exports_sluice_plugin_transform_result_value_plugin_error_free;
    pub const free = __root.exports_sluice_plugin_transform_result_value_plugin_error_free;
};
pub const exports_sluice_plugin_transform_tuple2_u32_result_value_plugin_error_t = extern struct {
    f0: u32 = 0,
    f1: exports_sluice_plugin_transform_result_value_plugin_error_t = @import("std").mem.zeroes(exports_sluice_plugin_transform_result_value_plugin_error_t),
    pub const exports_sluice_plugin_transform_tuple2_u32_result_value_plugin_error_free = __root.exports_sluice_plugin_transform_tuple2_u32_result_value_plugin_error_free;
    pub const free = __root.exports_sluice_plugin_transform_tuple2_u32_result_value_plugin_error_free;
};
pub const exports_sluice_plugin_transform_list_tuple2_u32_result_value_plugin_error_t = extern struct {
    ptr: [*c]exports_sluice_plugin_transform_tuple2_u32_result_value_plugin_error_t = null,
    len: usize = 0,
    pub const exports_sluice_plugin_transform_list_tuple2_u32_result_value_plugin_error_free = __root.exports_sluice_plugin_transform_list_tuple2_u32_result_value_plugin_error_free;
    pub const free = __root.exports_sluice_plugin_transform_list_tuple2_u32_result_value_plugin_error_free;
};
pub const struct_exports_sluice_plugin_transform_text_answer_t = extern struct {
    text: field_transformer_string_t = @import("std").mem.zeroes(field_transformer_string_t),
    ends: field_transformer_list_u32_t = @import("std").mem.zeroes(field_transformer_list_u32_t),
    others: exports_sluice_plugin_transform_list_tuple2_u32_result_value_plugin_error_t = @import("std").mem.zeroes(exports_sluice_plugin_transform_list_tuple2_u32_result_value_plugin_error_t),
    pub const exports_sluice_plugin_transform_text_answer_free = __root.exports_sluice_plugin_transform_text_answer_free;
    pub const free = __root.exports_sluice_plugin_transform_text_answer_free;
};
pub const exports_sluice_plugin_transform_text_answer_t = struct_exports_sluice_plugin_transform_text_answer_t;
const union_unnamed_3 = extern union {
    err: exports_sluice_plugin_transform_plugin_error_t,
};
pub const exports_sluice_plugin_transform_result_void_plugin_error_t = extern struct {
    is_err: bool = false,
    val: union_unnamed_3 = @import("std").mem.zeroes(union_unnamed_3),
    pub const exports_sluice_plugin_transform_result_void_plugin_error_free = __root.exports_sluice_plugin_transform_result_void_plugin_error_free;
    pub const free = __root.exports_sluice_plugin_transform_result_void_plugin_error_free;
};
pub const exports_sluice_plugin_transform_list_value_t = extern struct {
    ptr: [*c]exports_sluice_plugin_transform_value_t = null,
    len: usize = 0,
    pub const exports_sluice_plugin_transform_transform = __root.exports_sluice_plugin_transform_transform;
    pub const exports_sluice_plugin_transform_list_value_free = __root.exports_sluice_plugin_transform_list_value_free;
    pub const transform = __root.exports_sluice_plugin_transform_transform;
    pub const free = __root.exports_sluice_plugin_transform_list_value_free;
};
pub const exports_sluice_plugin_transform_list_result_value_plugin_error_t = extern struct {
    ptr: [*c]exports_sluice_plugin_transform_result_value_plugin_error_t = null,
    len: usize = 0,
    pub const exports_sluice_plugin_transform_list_result_value_plugin_error_free = __root.exports_sluice_plugin_transform_list_result_value_plugin_error_free;
    pub const free = __root.exports_sluice_plugin_transform_list_result_value_plugin_error_free;
};
pub extern fn sluice_plugin_log_log(level: sluice_plugin_log_level_t, message: [*c]field_transformer_string_t) void;
pub extern fn exports_sluice_plugin_transform_describe(ret: [*c]exports_sluice_plugin_transform_descriptor_t) void;
pub extern fn exports_sluice_plugin_transform_configure(options: [*c]field_transformer_string_t, err: [*c]exports_sluice_plugin_transform_plugin_error_t) bool;
pub extern fn exports_sluice_plugin_transform_transform(values: [*c]exports_sluice_plugin_transform_list_value_t, ret: [*c]exports_sluice_plugin_transform_list_result_value_plugin_error_t) void;
pub extern fn exports_sluice_plugin_transform_transform_text(batch: [*c]exports_sluice_plugin_transform_text_batch_t, ret: [*c]exports_sluice_plugin_transform_text_answer_t) void;
pub extern fn sluice_plugin_types_value_free(ptr: [*c]sluice_plugin_types_value_t) void;
pub extern fn field_transformer_option_string_free(ptr: [*c]field_transformer_option_string_t) void;
pub extern fn field_transformer_option_u32_free(ptr: [*c]field_transformer_option_u32_t) void;
pub extern fn sluice_plugin_types_plugin_error_free(ptr: [*c]sluice_plugin_types_plugin_error_t) void;
pub extern fn sluice_plugin_types_descriptor_free(ptr: [*c]sluice_plugin_types_descriptor_t) void;
pub extern fn exports_sluice_plugin_transform_value_free(ptr: [*c]exports_sluice_plugin_transform_value_t) void;
pub extern fn exports_sluice_plugin_transform_plugin_error_free(ptr: [*c]exports_sluice_plugin_transform_plugin_error_t) void;
pub extern fn exports_sluice_plugin_transform_descriptor_free(ptr: [*c]exports_sluice_plugin_transform_descriptor_t) void;
pub extern fn field_transformer_list_u32_free(ptr: [*c]field_transformer_list_u32_t) void;
pub extern fn exports_sluice_plugin_transform_text_batch_free(ptr: [*c]exports_sluice_plugin_transform_text_batch_t) void;
pub extern fn exports_sluice_plugin_transform_result_value_plugin_error_free(ptr: [*c]exports_sluice_plugin_transform_result_value_plugin_error_t) void;
pub extern fn exports_sluice_plugin_transform_tuple2_u32_result_value_plugin_error_free(ptr: [*c]exports_sluice_plugin_transform_tuple2_u32_result_value_plugin_error_t) void;
pub extern fn exports_sluice_plugin_transform_list_tuple2_u32_result_value_plugin_error_free(ptr: [*c]exports_sluice_plugin_transform_list_tuple2_u32_result_value_plugin_error_t) void;
pub extern fn exports_sluice_plugin_transform_text_answer_free(ptr: [*c]exports_sluice_plugin_transform_text_answer_t) void;
pub extern fn exports_sluice_plugin_transform_result_void_plugin_error_free(ptr: [*c]exports_sluice_plugin_transform_result_void_plugin_error_t) void;
pub extern fn exports_sluice_plugin_transform_list_value_free(ptr: [*c]exports_sluice_plugin_transform_list_value_t) void;
pub extern fn exports_sluice_plugin_transform_list_result_value_plugin_error_free(ptr: [*c]exports_sluice_plugin_transform_list_result_value_plugin_error_t) void;
pub extern fn field_transformer_string_set(ret: [*c]field_transformer_string_t, s: [*c]const u8) void;
pub extern fn field_transformer_string_dup(ret: [*c]field_transformer_string_t, s: [*c]const u8) void;
pub extern fn field_transformer_string_dup_n(ret: [*c]field_transformer_string_t, s: [*c]const u8, len: usize) void;
pub extern fn field_transformer_string_free(ret: [*c]field_transformer_string_t) void;

pub const __VERSION__ = "Aro aro-zig";
pub const __Aro__ = "";
pub const __STDC__ = @as(c_int, 1);
pub const __STDC_HOSTED__ = @as(c_int, 1);
pub const __STDC_UTF_16__ = @as(c_int, 1);
pub const __STDC_UTF_32__ = @as(c_int, 1);
pub const __STDC_EMBED_NOT_FOUND__ = @as(c_int, 0);
pub const __STDC_EMBED_FOUND__ = @as(c_int, 1);
pub const __STDC_EMBED_EMPTY__ = @as(c_int, 2);
pub const __STDC_VERSION__ = @as(c_long, 201710);
pub const __GNUC__ = @as(c_int, 4);
pub const __GNUC_MINOR__ = @as(c_int, 2);
pub const __GNUC_PATCHLEVEL__ = @as(c_int, 1);
pub const __ARO_EMULATE_NO__ = @as(c_int, 0);
pub const __ARO_EMULATE_CLANG__ = @as(c_int, 1);
pub const __ARO_EMULATE_GCC__ = @as(c_int, 2);
pub const __ARO_EMULATE_MSVC__ = @as(c_int, 3);
pub const __ARO_EMULATE__ = __ARO_EMULATE_CLANG__;
pub inline fn __building_module(x: anytype) @TypeOf(@as(c_int, 0)) {
    _ = &x;
    return @as(c_int, 0);
}
pub const TARGET_OS_WIN32 = @as(c_int, 0);
pub const TARGET_OS_WINDOWS = @as(c_int, 0);
pub const TARGET_OS_LINUX = @as(c_int, 0);
pub const TARGET_OS_UNIX = @as(c_int, 0);
pub const TARGET_OS_MAC = @as(c_int, 0);
pub const TARGET_OS_OSX = @as(c_int, 0);
pub const TARGET_OS_IPHONE = @as(c_int, 0);
pub const TARGET_OS_IOS = @as(c_int, 0);
pub const TARGET_OS_TV = @as(c_int, 0);
pub const TARGET_OS_WATCH = @as(c_int, 0);
pub const TARGET_OS_VISION = @as(c_int, 0);
pub const TARGET_OS_DRIVERKIT = @as(c_int, 0);
pub const TARGET_OS_MACCATALYST = @as(c_int, 0);
pub const TARGET_OS_SIMULATOR = @as(c_int, 0);
pub const TARGET_OS_EMBEDDED = @as(c_int, 0);
pub const TARGET_OS_NANO = @as(c_int, 0);
pub const TARGET_IPHONE_SIMULATOR = @as(c_int, 0);
pub const TARGET_OS_UIKITFORMAC = @as(c_int, 0);
pub const TARGET_OS_UEFI = @as(c_int, 0);
pub const __wasi__ = @as(c_int, 1);
pub const __wasm = @as(c_int, 1);
pub const __wasm__ = @as(c_int, 1);
pub const __wasm32 = @as(c_int, 1);
pub const __wasm32__ = @as(c_int, 1);
pub const __wasm_bulk_memory_opt__ = @as(c_int, 1);
pub const __wasm_call_indirect_overlong__ = @as(c_int, 1);
pub const __wasm_extended_const__ = @as(c_int, 1);
pub const __wasm_multivalue__ = @as(c_int, 1);
pub const __wasm_mutable_globals__ = @as(c_int, 1);
pub const __wasm_nontrapping_fptoint__ = @as(c_int, 1);
pub const __wasm_sign_ext__ = @as(c_int, 1);
pub const _ILP32 = @as(c_int, 1);
pub const __ILP32__ = @as(c_int, 1);
pub const __FLOAT128__ = @as(c_int, 1);
pub const __ORDER_LITTLE_ENDIAN__ = @as(c_int, 1234);
pub const __ORDER_BIG_ENDIAN__ = @as(c_int, 4321);
pub const __ORDER_PDP_ENDIAN__ = @as(c_int, 3412);
pub const __BYTE_ORDER__ = __ORDER_LITTLE_ENDIAN__;
pub const __LITTLE_ENDIAN__ = @as(c_int, 1);
pub const __ATOMIC_RELAXED = @as(c_int, 0);
pub const __ATOMIC_CONSUME = @as(c_int, 1);
pub const __ATOMIC_ACQUIRE = @as(c_int, 2);
pub const __ATOMIC_RELEASE = @as(c_int, 3);
pub const __ATOMIC_ACQ_REL = @as(c_int, 4);
pub const __ATOMIC_SEQ_CST = @as(c_int, 5);
pub const __ATOMIC_BOOL_LOCK_FREE = @as(c_int, 1);
pub const __ATOMIC_CHAR_LOCK_FREE = @as(c_int, 1);
pub const __ATOMIC_CHAR16_T_LOCK_FREE = @as(c_int, 1);
pub const __ATOMIC_CHAR32_T_LOCK_FREE = @as(c_int, 1);
pub const __ATOMIC_WCHAR_T_LOCK_FREE = @as(c_int, 1);
pub const __ATOMIC_WINT_T_LOCK_FREE = @as(c_int, 1);
pub const __ATOMIC_SHORT_LOCK_FREE = @as(c_int, 1);
pub const __ATOMIC_INT_LOCK_FREE = @as(c_int, 1);
pub const __ATOMIC_LONG_LOCK_FREE = @as(c_int, 1);
pub const __ATOMIC_LLONG_LOCK_FREE = @as(c_int, 1);
pub const __ATOMIC_POINTER_LOCK_FREE = @as(c_int, 1);
pub const __CHAR_BIT__ = @as(c_int, 8);
pub const __BOOL_WIDTH__ = @as(c_int, 8);
pub const __SCHAR_MAX__ = @as(c_int, 127);
pub const __SCHAR_WIDTH__ = @as(c_int, 8);
pub const __SHRT_MAX__ = @as(c_int, 32767);
pub const __SHRT_WIDTH__ = @as(c_int, 16);
pub const __INT_MAX__ = __helpers.promoteIntLiteral(c_int, 2147483647, .decimal);
pub const __INT_WIDTH__ = @as(c_int, 32);
pub const __LONG_MAX__ = @as(c_long, 2147483647);
pub const __LONG_WIDTH__ = @as(c_int, 32);
pub const __LONG_LONG_MAX__ = @as(c_longlong, 9223372036854775807);
pub const __LONG_LONG_WIDTH__ = @as(c_int, 64);
pub const __WCHAR_MAX__ = __helpers.promoteIntLiteral(c_int, 2147483647, .decimal);
pub const __WCHAR_WIDTH__ = @as(c_int, 32);
pub const __WINT_MAX__ = __helpers.promoteIntLiteral(c_int, 2147483647, .decimal);
pub const __WINT_WIDTH__ = @as(c_int, 32);
pub const __INTMAX_MAX__ = @as(c_longlong, 9223372036854775807);
pub const __INTMAX_WIDTH__ = @as(c_int, 64);
pub const __SIZE_MAX__ = @as(c_ulong, 4294967295);
pub const __SIZE_WIDTH__ = @as(c_int, 32);
pub const __UINTMAX_MAX__ = @as(c_ulonglong, 18446744073709551615);
pub const __UINTMAX_WIDTH__ = @as(c_int, 64);
pub const __PTRDIFF_MAX__ = @as(c_long, 2147483647);
pub const __PTRDIFF_WIDTH__ = @as(c_int, 32);
pub const __INTPTR_MAX__ = @as(c_long, 2147483647);
pub const __INTPTR_WIDTH__ = @as(c_int, 32);
pub const __UINTPTR_MAX__ = @as(c_ulong, 4294967295);
pub const __UINTPTR_WIDTH__ = @as(c_int, 32);
pub const __SIG_ATOMIC_MAX__ = @as(c_long, 2147483647);
pub const __SIG_ATOMIC_WIDTH__ = @as(c_int, 32);
pub const __BITINT_MAXWIDTH__ = __helpers.promoteIntLiteral(c_int, 65535, .decimal);
pub const __SIZEOF_FLOAT__ = @as(c_int, 4);
pub const __SIZEOF_DOUBLE__ = @as(c_int, 8);
pub const __SIZEOF_LONG_DOUBLE__ = @as(c_int, 16);
pub const __SIZEOF_SHORT__ = @as(c_int, 2);
pub const __SIZEOF_INT__ = @as(c_int, 4);
pub const __SIZEOF_LONG__ = @as(c_int, 4);
pub const __SIZEOF_LONG_LONG__ = @as(c_int, 8);
pub const __SIZEOF_POINTER__ = @as(c_int, 4);
pub const __SIZEOF_PTRDIFF_T__ = @as(c_int, 4);
pub const __SIZEOF_SIZE_T__ = @as(c_int, 4);
pub const __SIZEOF_WCHAR_T__ = @as(c_int, 4);
pub const __SIZEOF_WINT_T__ = @as(c_int, 4);
pub const __SIZEOF_INT128__ = @as(c_int, 16);
pub const __INTPTR_TYPE__ = c_long;
pub const __UINTPTR_TYPE__ = c_ulong;
pub const __INTMAX_TYPE__ = c_longlong;
pub const __INTMAX_C_SUFFIX__ = @compileError("unable to translate macro: undefined identifier `L`");
// <builtin>:123:9
pub const __INTMAX_C = __helpers.L_SUFFIX;
pub const __UINTMAX_TYPE__ = c_ulonglong;
pub const __UINTMAX_C_SUFFIX__ = @compileError("unable to translate macro: undefined identifier `UL`");
// <builtin>:126:9
pub const __UINTMAX_C = __helpers.UL_SUFFIX;
pub const __PTRDIFF_TYPE__ = c_long;
pub const __SIZE_TYPE__ = c_ulong;
pub const __WCHAR_TYPE__ = c_int;
pub const __WINT_TYPE__ = c_int;
pub const __CHAR16_TYPE__ = c_ushort;
pub const __CHAR32_TYPE__ = c_uint;
pub const __INT8_TYPE__ = i8;
pub const __INT8_FMTd__ = "hhd";
pub const __INT8_FMTi__ = "hhi";
pub const __INT8_C_SUFFIX__ = "";
pub inline fn __INT8_C(c: anytype) @TypeOf(c) {
    _ = &c;
    return c;
}
pub const __INT16_TYPE__ = c_short;
pub const __INT16_FMTd__ = "hd";
pub const __INT16_FMTi__ = "hi";
pub const __INT16_C_SUFFIX__ = "";
pub inline fn __INT16_C(c: anytype) @TypeOf(c) {
    _ = &c;
    return c;
}
pub const __INT32_TYPE__ = c_int;
pub const __INT32_FMTd__ = "d";
pub const __INT32_FMTi__ = "i";
pub const __INT32_C_SUFFIX__ = "";
pub inline fn __INT32_C(c: anytype) @TypeOf(c) {
    _ = &c;
    return c;
}
pub const __INT64_TYPE__ = c_longlong;
pub const __INT64_FMTd__ = "lld";
pub const __INT64_FMTi__ = "lli";
pub const __INT64_C_SUFFIX__ = @compileError("unable to translate macro: undefined identifier `LL`");
// <builtin>:152:9
pub const __INT64_C = __helpers.LL_SUFFIX;
pub const __UINT8_TYPE__ = u8;
pub const __UINT8_FMTo__ = "hho";
pub const __UINT8_FMTu__ = "hhu";
pub const __UINT8_FMTx__ = "hhx";
pub const __UINT8_FMTX__ = "hhX";
pub const __UINT8_C_SUFFIX__ = "";
pub inline fn __UINT8_C(c: anytype) @TypeOf(c) {
    _ = &c;
    return c;
}
pub const __UINT8_MAX__ = @as(c_int, 255);
pub const __INT8_MAX__ = @as(c_int, 127);
pub const __UINT16_TYPE__ = c_ushort;
pub const __UINT16_FMTo__ = "ho";
pub const __UINT16_FMTu__ = "hu";
pub const __UINT16_FMTx__ = "hx";
pub const __UINT16_FMTX__ = "hX";
pub const __UINT16_C_SUFFIX__ = "";
pub inline fn __UINT16_C(c: anytype) @TypeOf(c) {
    _ = &c;
    return c;
}
pub const __UINT16_MAX__ = __helpers.promoteIntLiteral(c_int, 65535, .decimal);
pub const __INT16_MAX__ = @as(c_int, 32767);
pub const __UINT32_TYPE__ = c_uint;
pub const __UINT32_FMTo__ = "o";
pub const __UINT32_FMTu__ = "u";
pub const __UINT32_FMTx__ = "x";
pub const __UINT32_FMTX__ = "X";
pub const __UINT32_C_SUFFIX__ = @compileError("unable to translate macro: undefined identifier `U`");
// <builtin>:177:9
pub const __UINT32_C = __helpers.U_SUFFIX;
pub const __UINT32_MAX__ = __helpers.promoteIntLiteral(c_uint, 4294967295, .decimal);
pub const __INT32_MAX__ = __helpers.promoteIntLiteral(c_int, 2147483647, .decimal);
pub const __UINT64_TYPE__ = c_ulonglong;
pub const __UINT64_FMTo__ = "llo";
pub const __UINT64_FMTu__ = "llu";
pub const __UINT64_FMTx__ = "llx";
pub const __UINT64_FMTX__ = "llX";
pub const __UINT64_C_SUFFIX__ = @compileError("unable to translate macro: undefined identifier `ULL`");
// <builtin>:186:9
pub const __UINT64_C = __helpers.ULL_SUFFIX;
pub const __UINT64_MAX__ = @as(c_ulonglong, 18446744073709551615);
pub const __INT64_MAX__ = @as(c_longlong, 9223372036854775807);
pub const __INT_LEAST8_TYPE__ = i8;
pub const __INT_LEAST8_MAX__ = @as(c_int, 127);
pub const __INT_LEAST8_WIDTH__ = @as(c_int, 8);
pub const INT_LEAST8_FMTd__ = "hhd";
pub const INT_LEAST8_FMTi__ = "hhi";
pub const __UINT_LEAST8_TYPE__ = u8;
pub const __UINT_LEAST8_MAX__ = @as(c_int, 255);
pub const UINT_LEAST8_FMTo__ = "hho";
pub const UINT_LEAST8_FMTu__ = "hhu";
pub const UINT_LEAST8_FMTx__ = "hhx";
pub const UINT_LEAST8_FMTX__ = "hhX";
pub const __INT_FAST8_TYPE__ = i8;
pub const __INT_FAST8_MAX__ = @as(c_int, 127);
pub const __INT_FAST8_WIDTH__ = @as(c_int, 8);
pub const INT_FAST8_FMTd__ = "hhd";
pub const INT_FAST8_FMTi__ = "hhi";
pub const __UINT_FAST8_TYPE__ = u8;
pub const __UINT_FAST8_MAX__ = @as(c_int, 255);
pub const UINT_FAST8_FMTo__ = "hho";
pub const UINT_FAST8_FMTu__ = "hhu";
pub const UINT_FAST8_FMTx__ = "hhx";
pub const UINT_FAST8_FMTX__ = "hhX";
pub const __INT_LEAST16_TYPE__ = c_short;
pub const __INT_LEAST16_MAX__ = @as(c_int, 32767);
pub const __INT_LEAST16_WIDTH__ = @as(c_int, 16);
pub const INT_LEAST16_FMTd__ = "hd";
pub const INT_LEAST16_FMTi__ = "hi";
pub const __UINT_LEAST16_TYPE__ = c_ushort;
pub const __UINT_LEAST16_MAX__ = __helpers.promoteIntLiteral(c_int, 65535, .decimal);
pub const UINT_LEAST16_FMTo__ = "ho";
pub const UINT_LEAST16_FMTu__ = "hu";
pub const UINT_LEAST16_FMTx__ = "hx";
pub const UINT_LEAST16_FMTX__ = "hX";
pub const __INT_FAST16_TYPE__ = c_short;
pub const __INT_FAST16_MAX__ = @as(c_int, 32767);
pub const __INT_FAST16_WIDTH__ = @as(c_int, 16);
pub const INT_FAST16_FMTd__ = "hd";
pub const INT_FAST16_FMTi__ = "hi";
pub const __UINT_FAST16_TYPE__ = c_ushort;
pub const __UINT_FAST16_MAX__ = __helpers.promoteIntLiteral(c_int, 65535, .decimal);
pub const UINT_FAST16_FMTo__ = "ho";
pub const UINT_FAST16_FMTu__ = "hu";
pub const UINT_FAST16_FMTx__ = "hx";
pub const UINT_FAST16_FMTX__ = "hX";
pub const __INT_LEAST32_TYPE__ = c_int;
pub const __INT_LEAST32_MAX__ = __helpers.promoteIntLiteral(c_int, 2147483647, .decimal);
pub const __INT_LEAST32_WIDTH__ = @as(c_int, 32);
pub const INT_LEAST32_FMTd__ = "d";
pub const INT_LEAST32_FMTi__ = "i";
pub const __UINT_LEAST32_TYPE__ = c_uint;
pub const __UINT_LEAST32_MAX__ = __helpers.promoteIntLiteral(c_uint, 4294967295, .decimal);
pub const UINT_LEAST32_FMTo__ = "o";
pub const UINT_LEAST32_FMTu__ = "u";
pub const UINT_LEAST32_FMTx__ = "x";
pub const UINT_LEAST32_FMTX__ = "X";
pub const __INT_FAST32_TYPE__ = c_int;
pub const __INT_FAST32_MAX__ = __helpers.promoteIntLiteral(c_int, 2147483647, .decimal);
pub const __INT_FAST32_WIDTH__ = @as(c_int, 32);
pub const INT_FAST32_FMTd__ = "d";
pub const INT_FAST32_FMTi__ = "i";
pub const __UINT_FAST32_TYPE__ = c_uint;
pub const __UINT_FAST32_MAX__ = __helpers.promoteIntLiteral(c_uint, 4294967295, .decimal);
pub const UINT_FAST32_FMTo__ = "o";
pub const UINT_FAST32_FMTu__ = "u";
pub const UINT_FAST32_FMTx__ = "x";
pub const UINT_FAST32_FMTX__ = "X";
pub const __INT_LEAST64_TYPE__ = c_longlong;
pub const __INT_LEAST64_MAX__ = @as(c_longlong, 9223372036854775807);
pub const __INT_LEAST64_WIDTH__ = @as(c_int, 64);
pub const INT_LEAST64_FMTd__ = "lld";
pub const INT_LEAST64_FMTi__ = "lli";
pub const __UINT_LEAST64_TYPE__ = c_ulonglong;
pub const __UINT_LEAST64_MAX__ = @as(c_ulonglong, 18446744073709551615);
pub const UINT_LEAST64_FMTo__ = "llo";
pub const UINT_LEAST64_FMTu__ = "llu";
pub const UINT_LEAST64_FMTx__ = "llx";
pub const UINT_LEAST64_FMTX__ = "llX";
pub const __INT_FAST64_TYPE__ = c_longlong;
pub const __INT_FAST64_MAX__ = @as(c_longlong, 9223372036854775807);
pub const __INT_FAST64_WIDTH__ = @as(c_int, 64);
pub const INT_FAST64_FMTd__ = "lld";
pub const INT_FAST64_FMTi__ = "lli";
pub const __UINT_FAST64_TYPE__ = c_ulonglong;
pub const __UINT_FAST64_MAX__ = @as(c_ulonglong, 18446744073709551615);
pub const UINT_FAST64_FMTo__ = "llo";
pub const UINT_FAST64_FMTu__ = "llu";
pub const UINT_FAST64_FMTx__ = "llx";
pub const UINT_FAST64_FMTX__ = "llX";
pub const __FLT_DENORM_MIN__ = @as(f32, 1.40129846e-45);
pub const __FLT_HAS_DENORM__ = "";
pub const __FLT_DIG__ = @as(c_int, 6);
pub const __FLT_DECIMAL_DIG__ = @as(c_int, 9);
pub const __FLT_EPSILON__ = @as(f32, 1.19209290e-7);
pub const __FLT_HAS_INFINITY__ = "";
pub const __FLT_HAS_QUIET_NAN__ = "";
pub const __FLT_MANT_DIG__ = @as(c_int, 24);
pub const __FLT_MAX_10_EXP__ = @as(c_int, 38);
pub const __FLT_MAX_EXP__ = @as(c_int, 128);
pub const __FLT_MAX__ = @as(f32, 3.40282347e+38);
pub const __FLT_MIN_10_EXP__ = -@as(c_int, 37);
pub const __FLT_MIN_EXP__ = -@as(c_int, 125);
pub const __FLT_MIN__ = @as(f32, 1.17549435e-38);
pub const __DBL_DENORM_MIN__ = @as(f64, 4.9406564584124654e-324);
pub const __DBL_HAS_DENORM__ = "";
pub const __DBL_DIG__ = @as(c_int, 15);
pub const __DBL_DECIMAL_DIG__ = @as(c_int, 17);
pub const __DBL_EPSILON__ = @as(f64, 2.2204460492503131e-16);
pub const __DBL_HAS_INFINITY__ = "";
pub const __DBL_HAS_QUIET_NAN__ = "";
pub const __DBL_MANT_DIG__ = @as(c_int, 53);
pub const __DBL_MAX_10_EXP__ = @as(c_int, 308);
pub const __DBL_MAX_EXP__ = @as(c_int, 1024);
pub const __DBL_MAX__ = @as(f64, 1.7976931348623157e+308);
pub const __DBL_MIN_10_EXP__ = -@as(c_int, 307);
pub const __DBL_MIN_EXP__ = -@as(c_int, 1021);
pub const __DBL_MIN__ = @as(f64, 2.2250738585072014e-308);
pub const __LDBL_DENORM_MIN__ = @as(c_longdouble, 6.47517511943802511092443895822764655e-4966);
pub const __LDBL_HAS_DENORM__ = "";
pub const __LDBL_DIG__ = @as(c_int, 33);
pub const __LDBL_DECIMAL_DIG__ = @as(c_int, 36);
pub const __LDBL_EPSILON__ = @as(c_longdouble, 1.92592994438723585305597794258492732e-34);
pub const __LDBL_HAS_INFINITY__ = "";
pub const __LDBL_HAS_QUIET_NAN__ = "";
pub const __LDBL_MANT_DIG__ = @as(c_int, 113);
pub const __LDBL_MAX_10_EXP__ = @as(c_int, 4932);
pub const __LDBL_MAX_EXP__ = @as(c_int, 16384);
pub const __LDBL_MAX__ = @as(c_longdouble, 1.18973149535723176508575932662800702e+4932);
pub const __LDBL_MIN_10_EXP__ = -@as(c_int, 4931);
pub const __LDBL_MIN_EXP__ = -@as(c_int, 16381);
pub const __LDBL_MIN__ = @as(c_longdouble, 3.36210314311209350626267781732175260e-4932);
pub const __FLT_EVAL_METHOD__ = @as(c_int, 0);
pub const __FLT_RADIX__ = @as(c_int, 2);
pub const __DECIMAL_DIG__ = __LDBL_DECIMAL_DIG__;
pub const __BINDINGS_FIELD_TRANSFORMER_H = "";
pub const __CLANG_STDINT_H = "";
pub const _STDINT_H = "";
pub const __NEED_int8_t = "";
pub const __NEED_int16_t = "";
pub const __NEED_int32_t = "";
pub const __NEED_int64_t = "";
pub const __NEED_uint8_t = "";
pub const __NEED_uint16_t = "";
pub const __NEED_uint32_t = "";
pub const __NEED_uint64_t = "";
pub const __NEED_intptr_t = "";
pub const __NEED_uintptr_t = "";
pub const __NEED_intmax_t = "";
pub const __NEED_uintmax_t = "";
pub const __BYTE_ORDER = __BYTE_ORDER__;
pub const __LONG_MAX = __LONG_MAX__;
pub const __LITTLE_ENDIAN = @as(c_int, 1234);
pub const __BIG_ENDIAN = @as(c_int, 4321);
pub const __USE_TIME_BITS64 = @as(c_int, 1);
pub const __DEFINED_uintptr_t = "";
pub const __DEFINED_intptr_t = "";
pub const __DEFINED_int8_t = "";
pub const __DEFINED_int16_t = "";
pub const __DEFINED_int32_t = "";
pub const __DEFINED_int64_t = "";
pub const __DEFINED_intmax_t = "";
pub const __DEFINED_uint8_t = "";
pub const __DEFINED_uint16_t = "";
pub const __DEFINED_uint32_t = "";
pub const __DEFINED_uint64_t = "";
pub const __DEFINED_uintmax_t = "";
pub const __wasilibc___struct_timeval_h = "";
pub const __wasilibc___typedef_time_t_h = "";
pub const __wasilibc___typedef_suseconds_t_h = "";
pub const __wasilibc___struct_timespec_h = "";
pub const __wasilibc___struct_iovec_h = "";
pub const __need_size_t = "";
pub const __STDC_VERSION_STDDEF_H__ = @as(c_long, 202311);
pub const NULL = __helpers.cast(?*anyopaque, @as(c_int, 0));
pub const offsetof = @compileError("unable to translate macro: undefined identifier `__builtin_offsetof`");
// /work/wt/zig/target/zig-tools/lib/python3.11/site-packages/ziglang/lib/compiler/aro/include/stddef.h:18:9
pub const INT8_MIN = -@as(c_int, 1) - @as(c_int, 0x7f);
pub const INT16_MIN = -@as(c_int, 1) - @as(c_int, 0x7fff);
pub const INT32_MIN = -@as(c_int, 1) - __helpers.promoteIntLiteral(c_int, 0x7fffffff, .hex);
pub const INT64_MIN = -@as(c_int, 1) - __helpers.promoteIntLiteral(c_int, 0x7fffffffffffffff, .hex);
pub const INT8_MAX = @as(c_int, 0x7f);
pub const INT16_MAX = @as(c_int, 0x7fff);
pub const INT32_MAX = __helpers.promoteIntLiteral(c_int, 0x7fffffff, .hex);
pub const INT64_MAX = __helpers.promoteIntLiteral(c_int, 0x7fffffffffffffff, .hex);
pub const UINT8_MAX = @as(c_int, 0xff);
pub const UINT16_MAX = __helpers.promoteIntLiteral(c_int, 0xffff, .hex);
pub const UINT32_MAX = __helpers.promoteIntLiteral(c_uint, 0xffffffff, .hex);
pub const UINT64_MAX = __helpers.promoteIntLiteral(c_uint, 0xffffffffffffffff, .hex);
pub const INT_FAST8_MIN = INT8_MIN;
pub const INT_FAST64_MIN = INT64_MIN;
pub const INT_LEAST8_MIN = INT8_MIN;
pub const INT_LEAST16_MIN = INT16_MIN;
pub const INT_LEAST32_MIN = INT32_MIN;
pub const INT_LEAST64_MIN = INT64_MIN;
pub const INT_FAST8_MAX = INT8_MAX;
pub const INT_FAST64_MAX = INT64_MAX;
pub const INT_LEAST8_MAX = INT8_MAX;
pub const INT_LEAST16_MAX = INT16_MAX;
pub const INT_LEAST32_MAX = INT32_MAX;
pub const INT_LEAST64_MAX = INT64_MAX;
pub const UINT_FAST8_MAX = UINT8_MAX;
pub const UINT_FAST64_MAX = UINT64_MAX;
pub const UINT_LEAST8_MAX = UINT8_MAX;
pub const UINT_LEAST16_MAX = UINT16_MAX;
pub const UINT_LEAST32_MAX = UINT32_MAX;
pub const UINT_LEAST64_MAX = UINT64_MAX;
pub const INTMAX_MIN = INT64_MIN;
pub const INTMAX_MAX = INT64_MAX;
pub const UINTMAX_MAX = UINT64_MAX;
pub const WINT_MIN = @as(c_uint, 0);
pub const WINT_MAX = UINT32_MAX;
pub const WCHAR_MAX = __helpers.promoteIntLiteral(c_int, 0x7fffffff, .hex) + '\x00';
pub const WCHAR_MIN = (-@as(c_int, 1) - __helpers.promoteIntLiteral(c_int, 0x7fffffff, .hex)) + '\x00';
pub const SIG_ATOMIC_MIN = INT32_MIN;
pub const SIG_ATOMIC_MAX = INT32_MAX;
pub const INT_FAST16_MIN = INT16_MIN;
pub const INT_FAST32_MIN = INT32_MIN;
pub const INT_FAST16_MAX = INT16_MAX;
pub const INT_FAST32_MAX = INT32_MAX;
pub const UINT_FAST16_MAX = UINT16_MAX;
pub const UINT_FAST32_MAX = UINT32_MAX;
pub const INTPTR_MIN = INT32_MIN;
pub const INTPTR_MAX = INT32_MAX;
pub const UINTPTR_MAX = UINT32_MAX;
pub const PTRDIFF_MIN = INT32_MIN;
pub const PTRDIFF_MAX = INT32_MAX;
pub const SIZE_MAX = UINT32_MAX;
pub inline fn INT8_C(c: anytype) @TypeOf(c) {
    _ = &c;
    return c;
}
pub inline fn INT16_C(c: anytype) @TypeOf(c) {
    _ = &c;
    return c;
}
pub inline fn INT32_C(c: anytype) @TypeOf(c) {
    _ = &c;
    return c;
}
pub inline fn UINT8_C(c: anytype) @TypeOf(c) {
    _ = &c;
    return c;
}
pub inline fn UINT16_C(c: anytype) @TypeOf(c) {
    _ = &c;
    return c;
}
pub const UINT32_C = __helpers.U_SUFFIX;
pub const INT64_C = __helpers.LL_SUFFIX;
pub const UINT64_C = __helpers.ULL_SUFFIX;
pub const INTMAX_C = __helpers.LL_SUFFIX;
pub const UINTMAX_C = __helpers.ULL_SUFFIX;
pub const @"bool" = bool;
pub const @"true" = @as(c_int, 1);
pub const @"false" = @as(c_int, 0);
pub const __bool_true_false_are_defined = @as(c_int, 1);
pub const SLUICE_PLUGIN_LOG_LEVEL_TRACE = @as(c_int, 0);
pub const SLUICE_PLUGIN_LOG_LEVEL_DEBUG = @as(c_int, 1);
pub const SLUICE_PLUGIN_LOG_LEVEL_INFO = @as(c_int, 2);
pub const SLUICE_PLUGIN_LOG_LEVEL_WARN = @as(c_int, 3);
pub const SLUICE_PLUGIN_LOG_LEVEL_ERROR = @as(c_int, 4);
pub const SLUICE_PLUGIN_TYPES_VALUE_NULL = @as(c_int, 0);
pub const SLUICE_PLUGIN_TYPES_VALUE_BOOLEAN = @as(c_int, 1);
pub const SLUICE_PLUGIN_TYPES_VALUE_INTEGER = @as(c_int, 2);
pub const SLUICE_PLUGIN_TYPES_VALUE_FLOAT = @as(c_int, 3);
pub const SLUICE_PLUGIN_TYPES_VALUE_TEXT = @as(c_int, 4);
pub const SLUICE_PLUGIN_TYPES_VALUE_JSON = @as(c_int, 5);
pub const SLUICE_PLUGIN_TYPES_VALUE_DECIMAL = @as(c_int, 6);
pub const SLUICE_PLUGIN_TYPES_VALUE_TIMESTAMP = @as(c_int, 7);
pub const SLUICE_PLUGIN_TYPES_ERROR_CATEGORY_AUTH = @as(c_int, 0);
pub const SLUICE_PLUGIN_TYPES_ERROR_CATEGORY_PERMISSIONS = @as(c_int, 1);
pub const SLUICE_PLUGIN_TYPES_ERROR_CATEGORY_PLAN_QUOTA = @as(c_int, 2);
pub const SLUICE_PLUGIN_TYPES_ERROR_CATEGORY_VALIDATION = @as(c_int, 3);
pub const SLUICE_PLUGIN_TYPES_ERROR_CATEGORY_TRANSIENT = @as(c_int, 4);
pub const SLUICE_PLUGIN_TYPES_ERROR_CATEGORY_CONNECTIVITY = @as(c_int, 5);
pub const SLUICE_PLUGIN_TYPES_ERROR_CATEGORY_DEPENDENCY_NOT_READY = @as(c_int, 6);
pub const SLUICE_PLUGIN_TYPES_ERROR_CATEGORY_CORRELATION = @as(c_int, 7);
pub const SLUICE_PLUGIN_TYPES_ERROR_CATEGORY_MAPPING = @as(c_int, 8);
pub const SLUICE_PLUGIN_TYPES_ERROR_CATEGORY_CONFIG = @as(c_int, 9);
pub const timeval = struct_timeval;
pub const timespec = struct_timespec;
pub const iovec = struct_iovec;
