#!/usr/bin/env bash
# (hookline-bench --scenario dashboard does the same, with medians and p99s; see docs/performance.md.)
# Seeds a --dev SQLite database with 1,000,000 events and deliveries (one webhook, 10 % failed, spread over
# 48 hours) and 60 inboxes of 500 captured requests each (1 KiB bodies, half verified), and times each dashboard page: the best of five requests, signed in through the --dev portal link.
# Usage: docs/dashboard-1m.sh [path to the hookline binary]   (needs sqlite3, curl, python3)
set -euo pipefail
BIN=$(realpath "${1:-target/release/hookline}")
D=$(mktemp -d); cd "$D"
PORT=18432
$BIN serve --dev --listen 127.0.0.1:$PORT --database sqlite://$D/h.db > out1 2>&1 &
PID=$!; sleep 4
KEY=$(grep -o 'hk_[A-Za-z0-9_-]*' out1 | head -1)
curl -s http://127.0.0.1:$PORT/v1/webhooks -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d '{"url":"http://127.0.0.1:9/hook","events":["*"]}' > wh.json
kill $PID; wait $PID || true
WH=$(python3 -c 'import json;print(json.load(open("wh.json"))["id"])')
PLT=$(sqlite3 h.db "select id from platforms limit 1")
NOW=$(($(date +%s)*1000))
time sqlite3 h.db <<SQL
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1000000)
INSERT INTO events (platform_id, id, type, data, created_at)
SELECT '$PLT', printf('evt_%020d', i), CASE WHEN i % 3 = 0 THEN 'order.confirmed' ELSE 'user.created' END, '{"n":' || i || '}', $NOW - 172800000 + i * 172 FROM n;
INSERT INTO deliveries (id, platform_id, event_pk, webhook_id, status, attempt_count, next_attempt_at, leased_until, created_at, updated_at)
SELECT printf('dlv_%020d', pk), '$PLT', pk, '$WH', CASE WHEN pk % 10 = 0 THEN 'failed' ELSE 'delivered' END, 1, NULL, NULL, created_at, created_at + 1000 FROM events WHERE platform_id = '$PLT' AND id LIKE 'evt_0%';
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 60)
INSERT INTO inboxes (id, platform_id, response_status, response_body, response_content_type, response_delay_ms, last_seq, created_at, expires_at)
SELECT printf('inb_%026d', i), '$PLT', 200, '', 'text/plain', 0, 500, $NOW - 1000 + i, $NOW + 86400000 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 500)
INSERT INTO inbox_requests (id, inbox_id, seq, method, path, query, headers, body_truncated, size, received_at, source_ip, verification_code, verification_message, verification_webhook_id, body, verified)
SELECT printf('req_%020d%06d', substr(b.id, 5) + 0, i), b.id, i, 'POST', '/hooks', 'a=1', '[["content-type","application/json"],["webhook-id","evt_1"],["webhook-timestamp","1"],["webhook-signature","v1,x"]]', 0, 1024, $NOW - 500000 + i * 1000, '127.0.0.1',
  CASE WHEN i % 2 = 0 THEN 'verified' ELSE 'body_changed' END, 'the signature checks out or not', '$WH', CAST(printf('{"n":%d,"pad":"%s"}', i, hex(zeroblob(500))) AS BLOB), i % 2 = 0
FROM n, inboxes b;
-- The overview's counters, as recording keeps them (and as the migration that added them fills them).
INSERT INTO webhook_hourly (webhook_id, hour, delivered, failed)
SELECT webhook_id, updated_at / 3600000, count(*) FILTER (WHERE status = 'delivered'), count(*) FILTER (WHERE status = 'failed')
FROM deliveries WHERE webhook_id = '$WH' AND status IN ('delivered', 'failed') GROUP BY 1, 2;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
$BIN serve --dev --listen 127.0.0.1:$PORT --database sqlite://$D/h.db > out2 2>&1 &
PID=$!; sleep 4
LINK=$(grep -o "http://127.0.0.1:$PORT/ui/portal/[A-Za-z0-9_-]*" out2 | head -1)
COOKIE=$(curl -s -D - -o /dev/null "$LINK" | grep -i '^set-cookie: hl_session' | sed 's/^[Ss]et-[Cc]ookie: //; s/;.*//')
DLV=$(sqlite3 h.db "select id from deliveries order by id desc limit 1")
EVT=$(sqlite3 h.db "select id from events order by pk desc limit 1")
INB=$(sqlite3 h.db "select id from inboxes order by id desc limit 1")
REQ=$(sqlite3 h.db "select id from inbox_requests where inbox_id = '$INB' and seq = 250")
MID=$(sqlite3 h.db "select id from deliveries where id < 'dlv_00000000000000500000' order by id desc limit 1")
for path in "/ui/" "/ui/webhooks" "/ui/webhooks/$WH" "/ui/webhooks/$WH?status=failed" "/ui/webhooks/$WH?after=$MID" \
  "/ui/events" "/ui/events?type=order.confirmed" "/ui/events?status=failed" "/ui/events?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z" \
  "/ui/events/$EVT" "/ui/deliveries/$DLV" "/ui/webhooks/$WH/recover?since=2000-01-01T00:00:00Z" "/ui/notifications" \
  "/ui/inboxes" "/ui/inboxes/$INB" "/ui/inboxes/$INB?after=$REQ"; do
  best=999
  for i in 1 2 3 4 5; do
    t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$path")
    code=${t% *}; s=${t#* }; ms=$(python3 -c "print(round($s*1000,1))")
    best=$(python3 -c "print(min($best,$ms))")
  done
  echo "$code ${best} ms  $path"
done
kill $PID; wait $PID || true
