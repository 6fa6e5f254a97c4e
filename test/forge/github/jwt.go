package githubfake

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// verifyJWT checks a GitHub App's JSON web token as GitHub does: signed
// with RS256 by the App's key, issued by the App (its id), not expired,
// not issued in the future (a minute of clock drift allowed) and living
// at most ten minutes.
func verifyJWT(token string, key *rsa.PublicKey, appID int64, now time.Time) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("not a JSON web token")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return fmt.Errorf("decoding the header: %w", err)
	}
	if header.Alg != "RS256" {
		return fmt.Errorf("algorithm %q, want RS256", header.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("decoding the signature: %w", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
		return errors.New("the signature is not the App's")
	}
	var claims struct {
		Iss json.RawMessage `json:"iss"`
		Iat int64           `json:"iat"`
		Exp int64           `json:"exp"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return fmt.Errorf("decoding the claims: %w", err)
	}
	iss := strings.Trim(string(claims.Iss), `"`)
	if iss != strconv.FormatInt(appID, 10) {
		return fmt.Errorf("issuer %s, want the App's id %d", claims.Iss, appID)
	}
	iat, exp := time.Unix(claims.Iat, 0), time.Unix(claims.Exp, 0)
	switch {
	case claims.Iat == 0 || claims.Exp == 0:
		return errors.New("iat or exp is missing")
	case !now.Before(exp):
		return fmt.Errorf("expired at %s", exp.UTC())
	case iat.After(now.Add(time.Minute)):
		return fmt.Errorf("issued in the future, at %s", iat.UTC())
	case exp.Sub(iat) > 10*time.Minute:
		return fmt.Errorf("lives %s, more than 10 minutes", exp.Sub(iat))
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
