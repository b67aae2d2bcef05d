<?php
// A hookline receiver in PHP, standard library only. It verifies BOTH signatures on the raw body bytes, and
// only then parses the JSON: parsing first and re-serializing changes the bytes, and the signature with them.
//
//   HOOKLINE_SECRET=whsec_... php -S 127.0.0.1:9000 receiver.php    serve (PHP's built-in server)
//   php receiver.php --vectors signatures.json                       check the known-answer vectors
//
// 204 when the delivery verifies, 400 with the reason otherwise.

const TOLERANCE_SECONDS = 300; // reject older (or newer) timestamps: a replayed request

// Standard Webhooks: base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed with the base64 part after whsec_.
function verify_standard(string $secret, ?string $id, ?string $timestamp, ?string $signatures, string $body, int $now): ?string
{
    if (!$id || !$timestamp || !$signatures) {
        return 'webhook-id, webhook-timestamp or webhook-signature is missing';
    }
    if (!ctype_digit($timestamp)) {
        return 'webhook-timestamp is malformed';
    }
    if (abs($now - (int) $timestamp) > TOLERANCE_SECONDS) {
        return 'webhook-timestamp is outside the tolerance';
    }
    $key = base64_decode(preg_replace('/^whsec_/', '', $secret));
    $expected = base64_encode(hash_hmac('sha256', "$id.$timestamp.$body", $key, true));
    // During a secret rotation the header carries one "v1,<signature>" per secret, space-separated.
    foreach (explode(' ', $signatures) as $entry) {
        [$version, $signature] = array_pad(explode(',', $entry, 2), 2, '');
        if ($version === 'v1' && hash_equals($expected, $signature)) {
            return null;
        }
    }
    return "webhook-signature does not match: the body was changed, or the secret is not this webhook's";
}

// X-Tradly-Signature: hex HMAC-SHA256 of the event id, keyed with the secret string as shown. It covers
// neither the body nor a time: it only adds to the check above.
function verify_tradly(string $secret, string $event_id, ?string $signature): ?string
{
    if (!$signature) {
        return 'X-Tradly-Signature is missing';
    }
    return hash_equals(hash_hmac('sha256', $event_id, $secret), strtolower($signature))
        ? null : 'X-Tradly-Signature does not match';
}

function verify(string $secret, array $headers, string $body, int $now): ?string
{
    $id = $headers['webhook-id'] ?? null;
    return verify_standard($secret, $id, $headers['webhook-timestamp'] ?? null, $headers['webhook-signature'] ?? null, $body, $now)
        ?? verify_tradly($secret, $id ?? '', $headers['x-tradly-signature'] ?? null);
}

function check_vectors(string $path): int
{
    $vectors = json_decode(file_get_contents($path), true);
    $count = 0;
    foreach ($vectors['tradly'] as $v) {
        if (verify_tradly($v['secret'], $v['event_id'], $v['signature_hex']) !== null) {
            throw new Exception("tradly vector {$v['event_id']} fails");
        }
        if (verify_tradly($v['secret'], $v['event_id'] . 'x', $v['signature_hex']) === null) {
            throw new Exception('a wrong id verifies');
        }
        $count++;
    }
    foreach ($vectors['standard_webhooks'] as $v) {
        $now = (int) $v['webhook_timestamp'];
        $reason = verify_standard($v['secret'], $v['webhook_id'], $v['webhook_timestamp'], $v['webhook_signature'], $v['body'], $now);
        if ($reason !== null) {
            throw new Exception("standard vector {$v['webhook_id']} fails: $reason");
        }
        if (verify_standard($v['secret'], $v['webhook_id'], $v['webhook_timestamp'], $v['webhook_signature'], $v['body'] . ' ', $now) === null) {
            throw new Exception('an altered body verifies');
        }
        $count++;
    }
    return $count;
}

if (PHP_SAPI === 'cli') {
    if (($argv[1] ?? '') !== '--vectors' || !isset($argv[2])) {
        fwrite(STDERR, "usage: php receiver.php --vectors signatures.json (serve with php -S 127.0.0.1:9000 receiver.php)\n");
        exit(2);
    }
    try {
        echo check_vectors($argv[2]) . " vectors ok\n";
    } catch (Exception $error) {
        fwrite(STDERR, $error->getMessage() . "\n");
        exit(1);
    }
    exit(0);
}

$body = file_get_contents('php://input'); // the raw bytes, exactly as sent
$headers = array_change_key_case(getallheaders(), CASE_LOWER);
$reason = verify(getenv('HOOKLINE_SECRET') ?: '', $headers, $body, time());
if ($reason !== null) {
    http_response_code(400);
    header('Content-Type: text/plain');
    echo $reason;
    return;
}
$event = json_decode($body, true); // only now
error_log("verified {$event['type']} {$event['id']}");
http_response_code(204);
