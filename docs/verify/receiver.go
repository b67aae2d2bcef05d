// A hookline receiver in Go, standard library only. It verifies BOTH signatures on the raw body bytes, and
// only then parses the JSON: parsing first and re-serializing changes the bytes, and the signature with them.
//
//	HOOKLINE_SECRET=whsec_... go run receiver.go [PORT]    serve on 127.0.0.1:PORT (default 9000)
//	go run receiver.go --vectors signatures.json           check the known-answer vectors
//
// 204 when the delivery verifies, 400 with the reason otherwise.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

const toleranceSeconds = 5 * 60 // reject older (or newer) timestamps: a replayed request

// verifyStandard checks Standard Webhooks: base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed with the
// base64 part of the secret after whsec_.
func verifyStandard(secret, id, timestamp, signatures string, body []byte, now int64) error {
	if id == "" || timestamp == "" || signatures == "" {
		return errors.New("webhook-id, webhook-timestamp or webhook-signature is missing")
	}
	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is malformed")
	}
	if now-seconds > toleranceSeconds || seconds-now > toleranceSeconds {
		return errors.New("webhook-timestamp is outside the tolerance")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return errors.New("the secret is not a whsec_ secret")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	expected := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	// During a secret rotation the header carries one "v1,<signature>" per secret, space-separated.
	for _, entry := range strings.Split(signatures, " ") {
		version, signature, found := strings.Cut(entry, ",")
		if found && version == "v1" && hmac.Equal([]byte(signature), []byte(expected)) {
			return nil
		}
	}
	return errors.New("webhook-signature does not match: the body was changed, or the secret is not this webhook's")
}

// verifyTradly checks X-Tradly-Signature: hex HMAC-SHA256 of the event id, keyed with the secret string as
// shown. It covers neither the body nor a time: it only adds to the check above.
func verifyTradly(secret, eventID, signature string) error {
	if signature == "" {
		return errors.New("X-Tradly-Signature is missing")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(eventID))
	if !hmac.Equal([]byte(strings.ToLower(signature)), []byte(hex.EncodeToString(mac.Sum(nil)))) {
		return errors.New("X-Tradly-Signature does not match")
	}
	return nil
}

func verify(secret string, header http.Header, body []byte, now int64) error {
	id := header.Get("webhook-id")
	if err := verifyStandard(secret, id, header.Get("webhook-timestamp"), header.Get("webhook-signature"), body, now); err != nil {
		return err
	}
	return verifyTradly(secret, id, header.Get("x-tradly-signature"))
}

func serve(port, secret string) error {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20)) // the raw bytes, exactly as sent
		if err == nil {
			err = verify(secret, r.Header, body, time.Now().Unix())
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var event struct{ ID, Type string } // only now
		if err := json.Unmarshal(body, &event); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		fmt.Printf("verified %s %s\n", event.Type, event.ID)
		w.WriteHeader(http.StatusNoContent)
	})
	fmt.Printf("listening on http://127.0.0.1:%s/\n", port)
	return http.ListenAndServe("127.0.0.1:"+port, handler) // one goroutine per connection
}

func checkVectors(path string) error {
	text, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var vectors struct {
		Tradly []struct {
			Secret    string `json:"secret"`
			EventID   string `json:"event_id"`
			Signature string `json:"signature_hex"`
		} `json:"tradly"`
		Standard []struct {
			Secret    string `json:"secret"`
			ID        string `json:"webhook_id"`
			Timestamp string `json:"webhook_timestamp"`
			Body      string `json:"body"`
			Signature string `json:"webhook_signature"`
		} `json:"standard_webhooks"`
	}
	if err := json.Unmarshal(text, &vectors); err != nil {
		return err
	}
	count := 0
	for _, v := range vectors.Tradly {
		if err := verifyTradly(v.Secret, v.EventID, v.Signature); err != nil {
			return fmt.Errorf("tradly vector %s: %w", v.EventID, err)
		}
		if verifyTradly(v.Secret, v.EventID+"x", v.Signature) == nil {
			return errors.New("a wrong id verifies")
		}
		count++
	}
	for _, v := range vectors.Standard {
		now, _ := strconv.ParseInt(v.Timestamp, 10, 64)
		if err := verifyStandard(v.Secret, v.ID, v.Timestamp, v.Signature, []byte(v.Body), now); err != nil {
			return fmt.Errorf("standard vector %s: %w", v.ID, err)
		}
		if verifyStandard(v.Secret, v.ID, v.Timestamp, v.Signature, []byte(v.Body+" "), now) == nil {
			return errors.New("an altered body verifies")
		}
		count++
	}
	fmt.Printf("%d vectors ok\n", count)
	return nil
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "--vectors" {
		if err := checkVectors(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	secret := os.Getenv("HOOKLINE_SECRET")
	if secret == "" {
		fmt.Fprintln(os.Stderr, "set HOOKLINE_SECRET to the webhook secret (whsec_...)")
		os.Exit(2)
	}
	port := os.Getenv("PORT")
	if len(os.Args) > 1 {
		port = os.Args[1]
	}
	if port == "" {
		port = "9000"
	}
	if err := serve(port, secret); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
