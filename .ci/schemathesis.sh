#!/usr/bin/env bash
# Checks the OpenAPI document against the real server: openapi-spec-validator (is it valid OpenAPI 3.1?), then
# schemathesis over every operation of a running `hookline serve --dev` on a loopback port, with the dev
# platform's API key. It fails on any 5xx, any status the document does not list, and any response body that
# does not match its schema. Examples per operation are capped so the run takes a few minutes at most.
#
# Deliveries: webhooks schemathesis manages to create point wherever its generated URL says. Its URLs are
# random strings, which the server rejects (422) all but always; the server runs with a 1 s delivery timeout
# and no retries so that anything that does get through ends at once.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/hookline-target}"
venv="${HOOKLINE_SCHEMATHESIS_VENV:-/var/tmp/hookline-schemathesis-venv}"
if [ ! -x "$venv/bin/st" ] || [ ! -x "$venv/bin/openapi-spec-validator" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'schemathesis==4.32.5' 'openapi-spec-validator==0.9.0'
fi

cargo build --locked -p hookline
bin="$CARGO_TARGET_DIR/debug/hookline"

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# Live inbox streams end after 2 s here, so that schemathesis, which reads a response to its end, is not held.
HOOKLINE_INBOX__STREAM_MAX=2s HOOKLINE_DELIVERY__TIMEOUT=1s "$bin" serve --dev --listen "127.0.0.1:$port" \
    --database "sqlite://$work/hookline.db" --retry-schedule 1s >"$work/server.log" 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    curl -fsS "$base/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "$base/readyz" >/dev/null || { cat "$work/server.log"; exit 1; }
key="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["api_key"])' "$work/dev-credentials.json")"
admin="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["admin_token"])' "$work/dev-credentials.json")"

curl -fsS "$base/v1/openapi.json" -o "$work/openapi.json"
echo "== openapi-spec-validator"
"$venv/bin/openapi-spec-validator" "$work/openapi.json"

echo "== schemathesis"
status=0
# Run from the scratch directory: schemathesis keeps a `.schemathesis/` cache in the working directory. One
# worker: with two, hypothesis parses lambda sources with `ast.parse` from two threads at once, and CPython 3.11
# then fails now and then with "AST constructor recursion depth mismatch" (an error of the tool, not the API).
#
# Three runs, so that no run pulls the ground from under itself: the platform's operations with its API key,
# except revoking a key (schemathesis would revoke the very key it runs with, and every later request would be
# a 401); then revoking keys; then the admin token's operations on platforms (deleting one deletes the dev
# platform, last).
st_run() {
    (cd "$work" && "$venv/bin/st" run "$base/v1/openapi.json" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
        --max-examples "${HOOKLINE_SCHEMATHESIS_EXAMPLES:-25}" \
        --seed 1 --no-color --workers 1 "$@") || status=$?
}
echo "-- the platform's operations (API key)"
st_run --header "Authorization: Bearer $key" --exclude-path-regex '^/v1/platforms' \
    --exclude-name 'DELETE /v1/api-keys/{id}'
echo "-- revoking API keys"
st_run --header "Authorization: Bearer $key" --include-name 'DELETE /v1/api-keys/{id}'
echo "-- the admin's operations on platforms (admin token)"
st_run --header "Authorization: Bearer $admin" --include-path-regex '^/v1/platforms'
if [ "$status" -ne 0 ]; then
    echo "--- server log (tail)"
    tail -n 50 "$work/server.log"
fi
exit "$status"
