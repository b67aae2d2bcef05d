# A hookline receiver in Ruby, standard library only. It verifies BOTH signatures on the raw body bytes, and
# only then parses the JSON: parsing first and re-serializing changes the bytes, and the signature with them.
#
#   HOOKLINE_SECRET=whsec_... ruby receiver.rb [PORT]     serve on 127.0.0.1:PORT (default 9000)
#   ruby receiver.rb --vectors signatures.json            check the known-answer vectors
#
# 204 when the delivery verifies, 400 with the reason otherwise. (In Rails or Sinatra, read the raw body with
# request.raw_post / request.body.read and use the two verify functions as they are.)
require "base64"
require "json"
require "openssl"
require "socket"

TOLERANCE_SECONDS = 5 * 60 # reject older (or newer) timestamps: a replayed request

# Standard Webhooks: base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed with the base64 part after whsec_.
def verify_standard(secret, id, timestamp, signatures, body, now)
  return "webhook-id, webhook-timestamp or webhook-signature is missing" if [id, timestamp, signatures].any? { |v| v.nil? || v.empty? }
  return "webhook-timestamp is malformed" unless timestamp.match?(/\A\d+\z/)
  return "webhook-timestamp is outside the tolerance" if (now - timestamp.to_i).abs > TOLERANCE_SECONDS

  key = Base64.decode64(secret.delete_prefix("whsec_"))
  expected = Base64.strict_encode64(OpenSSL::HMAC.digest("SHA256", key, "#{id}.#{timestamp}.".b + body.b))
  # During a secret rotation the header carries one "v1,<signature>" per secret, space-separated.
  matched = signatures.split(" ").any? do |entry|
    version, signature = entry.split(",", 2)
    version == "v1" && signature && OpenSSL.fixed_length_secure_compare(signature, expected) rescue false
  end
  matched ? nil : "webhook-signature does not match: the body was changed, or the secret is not this webhook's"
end

# X-Tradly-Signature: hex HMAC-SHA256 of the event id, keyed with the secret string as shown. It covers neither
# the body nor a time: it only adds to the check above.
def verify_tradly(secret, event_id, signature)
  return "X-Tradly-Signature is missing" if signature.nil? || signature.empty?

  expected = OpenSSL::HMAC.hexdigest("SHA256", secret, event_id)
  (OpenSSL.fixed_length_secure_compare(signature.downcase, expected) rescue false) ? nil : "X-Tradly-Signature does not match"
end

def verify(secret, headers, body, now)
  id = headers["webhook-id"]
  verify_standard(secret, id, headers["webhook-timestamp"], headers["webhook-signature"], body, now) ||
    verify_tradly(secret, id || "", headers["x-tradly-signature"])
end

# A tiny HTTP/1.1 server: one thread per connection, so a slow delivery never holds up the next.
def serve(port, secret)
  server = TCPServer.new("127.0.0.1", port)
  puts "listening on http://127.0.0.1:#{port}/"
  $stdout.flush
  loop do
    Thread.new(server.accept) do |client|
      client.gets # request line
      headers = {}
      while (line = client.gets) && line != "\r\n"
        name, value = line.split(":", 2)
        headers[name.strip.downcase] = value.to_s.strip
      end
      body = client.read(headers["content-length"].to_i) || "" # the raw bytes, exactly as sent
      reason = verify(secret, headers, body, Time.now.to_i)
      if reason
        client.write("HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: #{reason.bytesize}\r\nconnection: close\r\n\r\n#{reason}")
      else
        event = JSON.parse(body) # only now
        puts "verified #{event['type']} #{event['id']}"
        client.write("HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
      end
    ensure
      client.close
    end
  end
end

def check_vectors(path)
  vectors = JSON.parse(File.read(path))
  count = 0
  vectors["tradly"].each do |v|
    raise "tradly vector #{v['event_id']} fails" if verify_tradly(v["secret"], v["event_id"], v["signature_hex"])
    raise "a wrong id verifies" unless verify_tradly(v["secret"], v["event_id"] + "x", v["signature_hex"])
    count += 1
  end
  vectors["standard_webhooks"].each do |v|
    now = v["webhook_timestamp"].to_i
    args = [v["secret"], v["webhook_id"], v["webhook_timestamp"], v["webhook_signature"]]
    reason = verify_standard(*args, v["body"], now)
    raise "standard vector #{v['webhook_id']} fails: #{reason}" if reason
    raise "an altered body verifies" unless verify_standard(*args, v["body"] + " ", now)
    count += 1
  end
  puts "#{count} vectors ok"
end

if ARGV[0] == "--vectors"
  begin
    check_vectors(ARGV[1])
  rescue RuntimeError => e
    warn e.message
    exit 1
  end
else
  secret = ENV["HOOKLINE_SECRET"]
  abort "set HOOKLINE_SECRET to the webhook secret (whsec_...)" if secret.nil? || secret.empty?
  serve((ARGV[0] || ENV["PORT"] || 9000).to_i, secret)
end
