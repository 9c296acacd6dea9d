#!/usr/bin/env bash
# Builds the Worker into build/index.js (our entry, src/entry.js), build/glue.mjs
# and build/index_bg.wasm with worker-build, pointing it
# at local binaries so that nothing is downloaded from GitHub.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
[ "${EDGE_SESSION_SETUP_DONE:-}" = 1 ] || bash scripts/setup.sh --without-browser
export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
worker-build --release
# The entry module is ours (src/entry.js): worker-build's bundle becomes
# build/glue.mjs, which it imports.
mv build/index.js build/glue.mjs
cp src/entry.js build/index.js
