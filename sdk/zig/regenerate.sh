#!/bin/sh
# Regenerate sdk/zig/bindings/*.zig, the C bindings' headers (sdk/c/bindings)
# translated into Zig with `zig translate-c` (Zig 0.17 has no
# @cImport). Run it after sdk/c/regenerate.sh; ZIG names the program
# (default: zig on PATH). The Zig version is recorded in
# sdk/zig/bindings/GENERATED with the headers' sha256, which a test compares.
set -eu
cd "$(dirname "$0")/../.."
ZIG=${ZIG:-zig}
for world in field_transformer normalizer; do
    "$ZIG" translate-c -target wasm32-wasi -lc "sdk/c/bindings/$world.h" > "sdk/zig/bindings/$world.zig"
done
{
    echo "# Translated by zig $("$ZIG" version) with sdk/zig/regenerate.sh from:"
    sha256sum sdk/c/bindings/field_transformer.h sdk/c/bindings/normalizer.h
} > sdk/zig/bindings/GENERATED
cat sdk/zig/bindings/GENERATED
