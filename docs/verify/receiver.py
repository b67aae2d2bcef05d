"""A hookline receiver in Python, standard library only. It verifies BOTH signatures on the raw body bytes,
and only then parses the JSON: parsing first and re-serializing changes the bytes, and the signature with them.

    HOOKLINE_SECRET=whsec_... python3 receiver.py [PORT]     serve on 127.0.0.1:PORT (default 9000)
    python3 receiver.py --vectors signatures.json            check the known-answer vectors

204 when the delivery verifies, 400 with the reason otherwise.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 5 * 60  # reject older (or newer) timestamps: a replayed request


def verify_standard(secret, msg_id, timestamp, signatures, body, now):
    """Standard Webhooks: base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed with the part after whsec_."""
    if not msg_id or not timestamp or not signatures:
        return "webhook-id, webhook-timestamp or webhook-signature is missing"
    if not timestamp.isdigit():
        return "webhook-timestamp is malformed"
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return "webhook-timestamp is outside the tolerance"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # During a secret rotation the header carries one "v1,<signature>" per secret, space-separated.
    for entry in signatures.split(" "):
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return None
    return "webhook-signature does not match: the body was changed, or the secret is not this webhook's"


def verify_tradly(secret, event_id, signature):
    """X-Tradly-Signature: hex HMAC-SHA256 of the event id, keyed with the secret string as shown. It covers
    neither the body nor a time: it only adds to the check above."""
    if not signature:
        return "X-Tradly-Signature is missing"
    expected = hmac.new(secret.encode(), event_id.encode(), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(signature.lower(), expected) else "X-Tradly-Signature does not match"


def verify(secret, headers, body, now):
    msg_id = headers.get("webhook-id")
    return verify_standard(
        secret, msg_id, headers.get("webhook-timestamp"), headers.get("webhook-signature"), body, now
    ) or verify_tradly(secret, msg_id or "", headers.get("x-tradly-signature"))


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))  # the raw bytes, exactly as sent
        reason = verify(os.environ["HOOKLINE_SECRET"], self.headers, body, int(time.time()))
        if reason:
            self.send_response(400)
            self.send_header("content-type", "text/plain")
            self.end_headers()
            self.wfile.write(reason.encode())
            return
        event = json.loads(body)  # only now
        print(f"verified {event['type']} {event['id']}", flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def check_vectors(path):
    with open(path, encoding="utf-8") as file:
        vectors = json.load(file)
    count = 0
    for v in vectors["tradly"]:
        assert verify_tradly(v["secret"], v["event_id"], v["signature_hex"]) is None, v["event_id"]
        assert verify_tradly(v["secret"], v["event_id"] + "x", v["signature_hex"]), "a wrong id verifies"
        count += 1
    for v in vectors["standard_webhooks"]:
        now, body = int(v["webhook_timestamp"]), v["body"].encode()
        args = (v["secret"], v["webhook_id"], v["webhook_timestamp"], v["webhook_signature"])
        reason = verify_standard(*args, body, now)
        assert reason is None, f"{v['webhook_id']}: {reason}"
        assert verify_standard(*args, body + b" ", now), "an altered body verifies"
        count += 1
    print(f"{count} vectors ok")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--vectors":
        try:
            check_vectors(sys.argv[2])
        except AssertionError as error:
            print(error, file=sys.stderr)
            sys.exit(1)
    else:
        if not os.environ.get("HOOKLINE_SECRET"):
            sys.exit("set HOOKLINE_SECRET to the webhook secret (whsec_...)")
        port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", 9000))
        print(f"listening on http://127.0.0.1:{port}/", flush=True)
        ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()
