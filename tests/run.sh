#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: installs the
# WebAssembly target, componentize-py (for the Python plugin) and the
# plugin authoring toolchains (tests/plugin_authoring: componentize-js,
# TypeScript, zig) first.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2

# componentize-py builds plugins/titlecase-py; keep it in a private venv.
venv=target/python-tools
if [ ! -x "$venv/bin/componentize-py" ] || ! "$venv/bin/componentize-py" --version | grep -q '0.25.1'; then
    if ! python3 -m venv "$venv"; then
        echo "tests/run.sh: python3 with the venv module is needed for componentize-py" >&2
        echo "  (Debian/Ubuntu: apt-get install python3-venv)" >&2
        exit 1
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check componentize-py==0.25.1
fi
export SLUICE_COMPONENTIZE_PY="$PWD/$venv/bin/componentize-py"

# playwright-core drives Chromium in the dashboard's browser test
# (tests/dashboard/browser.rs); without npm or Chromium that test says it
# is skipped, unless SLUICE_REQUIRE_BROWSER is set (CI).
browser_tools=target/browser-tools
if [ ! -f "$browser_tools/node_modules/playwright-core/package.json" ] && command -v npm >/dev/null; then
    npm install --silent --no-audit --no-fund --prefix "$browser_tools" playwright-core@1.65.2 \
        || echo "tests/run.sh: could not install playwright-core; the browser test will be skipped" >&2
fi

# componentize-js and TypeScript build the JavaScript and TypeScript plugins
# that tests/plugin_authoring scaffolds; one npm install shared by them all.
js=target/js-tools
if [ ! -x "$js/node_modules/.bin/componentize-js" ] || [ ! -x "$js/node_modules/.bin/tsc" ] \
    || ! "$js/node_modules/.bin/componentize-js" --version | grep -q '^0.23.0$'; then
    if command -v npm >/dev/null; then
        mkdir -p "$js"
        npm install --prefix "$js" --no-audit --no-fund --no-save --loglevel=error \
            @bytecodealliance/componentize-js@0.23.0 typescript@5.9.3
    else
        echo "tests/run.sh: npm not found; the JavaScript and TypeScript plugin tests will be skipped" >&2
        echo "  (Debian/Ubuntu: apt-get install nodejs npm)" >&2
    fi
fi
if [ -x "$js/node_modules/.bin/componentize-js" ]; then
    export SLUICE_COMPONENTIZE_JS="$PWD/$js/node_modules/.bin/componentize-js"
    export SLUICE_TSC="$PWD/$js/node_modules/.bin/tsc"
fi

# zig builds the Zig plugins that tests/plugin_authoring scaffolds; PyPI's
# `ziglang` wheel in a private venv, pinned like componentize-py.
zig_tools=target/zig-tools
zig_bin=$zig_tools/lib/python3*/site-packages/ziglang/zig
# shellcheck disable=SC2086
if ! ls $zig_bin >/dev/null 2>&1 || [ "$($zig_bin version)" != "0.17.1" ]; then
    if python3 -m venv "$zig_tools"; then
        "$zig_tools/bin/python" -m pip install --quiet --disable-pip-version-check ziglang==0.17.1 \
            || echo "tests/run.sh: could not install ziglang; the Zig plugin tests will be skipped" >&2
    fi
fi
# shellcheck disable=SC2086
if ls $zig_bin >/dev/null 2>&1; then
    SLUICE_ZIG="$(cd "$(dirname $zig_bin)" && pwd)/zig"
    export SLUICE_ZIG
fi

cargo test --workspace "$@"
