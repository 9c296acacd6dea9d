#!/usr/bin/env bash
# Checks formatting and lints (`cargo fmt --check`, `cargo clippy -D warnings`,
# native and wasm32) and the wasm's size budget (bench/budget.json, after the
# build), then runs every test layer: native `cargo test` (the core against the in-memory KV),
# wasm-bindgen-test on wasm32 under Node (code that touches JS types),
# `node --test` driving the built Worker in Miniflare, the TypeScript client's
# tests (client/: type drift against openapi.json, then every call against the
# Worker in Miniflare), the origin verifier's tests (origin/: verifying the
# Worker's identity assertion behind it in Miniflare), and headless Chromium (Debian's) through the demo
# (examples/demo) behind the Worker, `npm run dev` included, and schemathesis
# against the built Worker in both consistency modes. Fails when a layer fails
# or runs no test.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh
export EDGE_SESSION_SETUP_DONE=1

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
total_pass=0 total_fail=0

# Sums "N passed; M failed" over cargo's and wasm-bindgen-test-runner's result lines.
cargo_counts() {
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
       END { printf "%d %d\n", p, f }' "$1"
}

layer() { # name, log, passed, failed, status
  printf '\n[test] %s: %d passed, %d failed\n' "$1" "$3" "$4"
  total_pass=$((total_pass + $3)); total_fail=$((total_fail + $4))
  if [ "$5" -ne 0 ]; then echo "[test] $1 failed (exit $5)"; exit 1; fi
  if [ "$3" -eq 0 ]; then echo "[test] $1 ran no test"; exit 1; fi
}

echo "[test] lint: cargo fmt --check, cargo clippy -D warnings"
cargo fmt --all -- --check || { echo "[test] cargo fmt --check failed: run cargo fmt --all"; exit 1; }
cargo clippy --workspace --all-targets -- -D warnings || { echo "[test] clippy failed"; exit 1; }
cargo clippy -p edge-session --target wasm32-unknown-unknown -- -D warnings || { echo "[test] clippy (wasm32) failed"; exit 1; }

echo "[test] layer 1: native cargo test"
status=0; cargo test --workspace 2>&1 | tee "$logs/native.log" || status=$?
read -r p f < <(cargo_counts "$logs/native.log"); layer native "$logs/native.log" "$p" "$f" "$status"

echo "[test] layer 2: wasm-bindgen-test on wasm32-unknown-unknown (Node)"
status=0
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p edge-session --target wasm32-unknown-unknown 2>&1 | tee "$logs/wasm.log" || status=$?
read -r p f < <(cargo_counts "$logs/wasm.log"); layer wasm "$logs/wasm.log" "$p" "$f" "$status"

echo "[test] layer 3: build the Worker, check its size budget (bench/budget.json), then node --test in Miniflare"
bash scripts/build.sh
node scripts/size-budget.mjs || { echo "[test] the wasm is over its size budget"; exit 1; }
# The demo origin (tests/demo-origin.test.mjs) imports the verifier package's build.
npm --prefix origin run build --silent
status=0; node --test --test-concurrency=4 tests/*.test.mjs 2>&1 | tee "$logs/node.log" || status=$?
p=$(awk '/^# pass /{print $3}' "$logs/node.log" | tail -1); f=$(awk '/^# fail /{print $3}' "$logs/node.log" | tail -1)
layer node "$logs/node.log" "${p:-0}" "${f:-0}" "$status"

# "# pass N" / "# fail N" of node --test's summary.
node_counts() { awk '/^# pass /{p=$3} /^# fail /{f=$3} END { printf "%d %d\n", p, f }' "$1"; }

echo "[test] layer 4: the TypeScript client (client/): types vs openapi.json, build, calls in Miniflare"
status=0; npm --prefix client test 2>&1 | tee "$logs/client.log" || status=$?
read -r p f < <(node_counts "$logs/client.log"); layer client "$logs/client.log" "$p" "$f" "$status"

echo "[test] layer 5: the origin verifier (origin/): build, types, verification behind the Worker in Miniflare"
status=0; npm --prefix origin test 2>&1 | tee "$logs/origin.log" || status=$?
read -r p f < <(node_counts "$logs/origin.log"); layer origin "$logs/origin.log" "$p" "$f" "$status"

echo "[test] layer 6: headless Chromium through the demo behind the Worker (screenshots in tests/browser/screenshots/)"
status=0; node --test --test-concurrency=1 tests/browser/*.test.mjs 2>&1 | tee "$logs/browser.log" || status=$?
read -r p f < <(node_counts "$logs/browser.log"); layer browser "$logs/browser.log" "$p" "$f" "$status"

# Schemathesis against the built Worker in Miniflare, both consistency modes
# (tests/schemathesis/run.mjs): every check, a fixed seed, the served
# openapi.json. Counts (mode, operation) pairs; fails when schemathesis fails,
# errs, leaves an operation untested or runs no case.
echo "[test] layer 7: schemathesis against the built Worker (eventual, strong)"
status=0; node tests/schemathesis/run.mjs eventual strong 2>&1 | tee "$logs/schemathesis.log" || status=$?
read -r p f < <(awk '/^schemathesis: [0-9]+ passed, [0-9]+ failed$/ {print $2, $4}' "$logs/schemathesis.log" | tail -1) || true
layer schemathesis "$logs/schemathesis.log" "${p:-0}" "${f:-0}" "$status"

echo
echo "all: ${total_pass} passed, ${total_fail} failed"
