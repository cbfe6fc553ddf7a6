//! Field transformers written directly in the component text format, for
//! misbehaviour no Rust toolchain produces (several linear memories, raw
//! WASI calls, nested components).
//!
//! [`transformer`] wraps a core module in a component implementing the
//! `field-transformer` world. The module must export `memory` (used for the
//! canonical ABI), `realloc`, `configure` and `transform`; [`ABI`] provides
//! working versions of the last three that answer `Ok(null)` for every input,
//! so a module only adds its misbehaviour. It may import `host.subscribe`
//! (`wasi:clocks/monotonic-clock.subscribe-duration`, nanoseconds to a
//! pollable handle) and `host.block` (`wasi:io/poll` `pollable.block`).

/// Working `realloc`, `configure` and `transform`; `transform` first calls
/// `$misbehave` (which the module defines).
pub const ABI: &str = r#"
    (global $next (mut i32) (i32.const 32768))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $at i32)
      (local.set $at
        (i32.and
          (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get 2))))
      (global.set $next (i32.add (local.get $at) (local.get 3)))
      (local.get $at))
    ;; result<_, plugin-error>: the zeroed area at 64 reads as `ok`.
    (func (export "configure") (param i32 i32) (result i32)
      (i32.const 64))
    ;; list<result<value, plugin-error>>: 48-byte elements at 8192, all zero,
    ;; each `ok(null)`; the (pointer, length) pair is written at 16.
    (func (export "transform") (param i32 i32) (result i32)
      (call $misbehave)
      (i32.store (i32.const 16) (i32.const 8192))
      (i32.store (i32.const 20) (local.get 1))
      (i32.const 16))
"#;

/// A field-transformer component around `module` (core WAT text, without
/// the surrounding `(core module ...)`).
pub fn transformer(module: &str) -> Vec<u8> {
    transformer_with(module, "", "")
}

/// [`transformer`], with `before` (component WAT: more core modules and
/// instances) placed before the guest module and `with` (more `(with ...)`
/// arguments) added to its instantiation.
pub fn transformer_with(module: &str, before: &str, with: &str) -> Vec<u8> {
    let text = format!(
        r#"(component
  (import "wasi:io/poll@0.2.6" (instance $poll
    (export "pollable" (type (sub resource)))
    (export "[method]pollable.block" (func (param "self" (borrow 0))))
  ))
  (alias export $poll "pollable" (type $pollable))
  (import "wasi:clocks/monotonic-clock@0.2.6" (instance $clock
    (alias outer 1 $pollable (type))
    (export "pollable" (type (eq 0)))
    (export "subscribe-duration" (func (param "when" u64) (result (own 1))))
  ))
  (import "sluice:plugin/types@0.1.0" (instance $types
    (type $category (enum "auth" "permissions" "plan-quota" "validation" "transient"
                "connectivity" "dependency-not-ready" "correlation" "mapping" "config"))
    ;; type 1: the exported enum, which the record must name
    (export "error-category" (type (eq $category)))
    (type $field (option string))
    (type $error (record
      (field "category" 1)
      (field "code" string)
      (field "message" string)
      (field "field" $field)
      (field "retryable" bool)))
    (export "plugin-error" (type (eq $error)))
    (type $value (variant
      (case "null")
      (case "boolean" bool)
      (case "integer" s64)
      (case "float" f64)
      (case "text" string)
      (case "json" string)))
    (export "value" (type (eq $value)))
  ))
  (alias export $types "plugin-error" (type $plugin-error))
  (alias export $types "value" (type $value))

  (core func $subscribe (canon lower (func $clock "subscribe-duration")))
  (core func $block (canon lower (func $poll "[method]pollable.block")))
  (core instance $host
    (export "subscribe" (func $subscribe))
    (export "block" (func $block)))

  {before}
  (core module $guest {module})
  (core instance $guest (instantiate $guest (with "host" (instance $host)) {with}))

  (type $configure (func (param "options" string) (result (result (error $plugin-error)))))
  (type $transform (func (param "values" (list $value))
                         (result (list (result $value (error $plugin-error))))))
  (func $configure (type $configure)
    (canon lift (core func $guest "configure")
      (memory $guest "memory") (realloc (func $guest "realloc")) string-encoding=utf8))
  (func $transform (type $transform)
    (canon lift (core func $guest "transform")
      (memory $guest "memory") (realloc (func $guest "realloc")) string-encoding=utf8))
  (instance $transform-instance
    (export "configure" (func $configure))
    (export "transform" (func $transform)))
  (export "sluice:plugin/transform@0.1.0" (instance $transform-instance))
)"#
    );
    wat::parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}
