// A hookline receiver in Node.js, standard library only. It verifies BOTH signatures on the raw body bytes,
// and only then parses the JSON: parsing first and re-serializing changes the bytes, and the signature with them.
//
//   HOOKLINE_SECRET=whsec_... node receiver.js [PORT]      serve on 127.0.0.1:PORT (default 9000)
//   node receiver.js --vectors signatures.json             check the known-answer vectors
//
// 204 when the delivery verifies, 400 with the reason otherwise.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');

const TOLERANCE_SECONDS = 5 * 60; // reject older (or newer) timestamps: a replayed request

function safeEqual(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

// Standard Webhooks: base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed with the base64 part after whsec_.
function verifyStandard(secret, id, timestamp, signatures, body, now) {
  if (!id || !timestamp || !signatures) return 'webhook-id, webhook-timestamp or webhook-signature is missing';
  if (!/^\d+$/.test(timestamp)) return 'webhook-timestamp is malformed';
  if (Math.abs(now - Number(timestamp)) > TOLERANCE_SECONDS) return 'webhook-timestamp is outside the tolerance';
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = crypto.createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  // During a secret rotation the header carries one "v1,<signature>" per secret, space-separated.
  const match = signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    return version === 'v1' && signature !== undefined && safeEqual(signature, expected);
  });
  return match ? null : 'webhook-signature does not match: the body was changed, or the secret is not this webhook\'s';
}

// X-Tradly-Signature: hex HMAC-SHA256 of the event id, keyed with the secret string as shown. It covers
// neither the body nor a time: it only adds to the check above.
function verifyTradly(secret, eventId, signature) {
  if (!signature) return 'X-Tradly-Signature is missing';
  const expected = crypto.createHmac('sha256', Buffer.from(secret, 'utf8')).update(eventId, 'utf8').digest('hex');
  return safeEqual(signature.toLowerCase(), expected) ? null : 'X-Tradly-Signature does not match';
}

function verify(secret, headers, body, now) {
  const id = headers['webhook-id'];
  return (
    verifyStandard(secret, id, headers['webhook-timestamp'], headers['webhook-signature'], body, now) ||
    verifyTradly(secret, id || '', headers['x-tradly-signature'])
  );
}

function serve(port, secret) {
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks); // the raw bytes, exactly as sent
      const reason = verify(secret, request.headers, body, Math.floor(Date.now() / 1000));
      if (reason) {
        response.writeHead(400, { 'content-type': 'text/plain' }).end(reason);
        return;
      }
      const event = JSON.parse(body.toString('utf8')); // only now
      console.log(`verified ${event.type} ${event.id}`);
      response.writeHead(204).end();
    });
  });
  server.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}/`));
}

function checkVectors(path) {
  const vectors = JSON.parse(fs.readFileSync(path, 'utf8'));
  let count = 0;
  for (const v of vectors.tradly) {
    if (verifyTradly(v.secret, v.event_id, v.signature_hex)) throw new Error(`tradly vector ${v.event_id} fails`);
    if (!verifyTradly(v.secret, `${v.event_id}x`, v.signature_hex)) throw new Error('a wrong id verifies');
    count++;
  }
  for (const v of vectors.standard_webhooks) {
    const now = Number(v.webhook_timestamp);
    const body = Buffer.from(v.body, 'utf8');
    const reason = verifyStandard(v.secret, v.webhook_id, v.webhook_timestamp, v.webhook_signature, body, now);
    if (reason) throw new Error(`standard vector ${v.webhook_id} fails: ${reason}`);
    const altered = Buffer.concat([body, Buffer.from(' ')]);
    if (!verifyStandard(v.secret, v.webhook_id, v.webhook_timestamp, v.webhook_signature, altered, now)) {
      throw new Error('an altered body verifies');
    }
    count++;
  }
  console.log(`${count} vectors ok`);
}

if (process.argv[2] === '--vectors') {
  try {
    checkVectors(process.argv[3]);
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
} else {
  const secret = process.env.HOOKLINE_SECRET;
  if (!secret) {
    console.error('set HOOKLINE_SECRET to the webhook secret (whsec_...)');
    process.exit(2);
  }
  serve(Number(process.argv[2] || process.env.PORT || 9000), secret);
}
