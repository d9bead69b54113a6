package passhash

import (
	"encoding/base64"
	"strings"
	"testing"
)

// Vectors computed apart from this code (Python's hashlib) with the salt
// CA D5 08 9B and the password "simon" of RabbitMQ's password docs, whose
// MD5 variant of the same scheme gives the docs' ytUIm8s3AnKsXQjptplKFytfVxI=.
var vectors = []struct{ algorithm, hash string }{
	{SHA256, "ytUIm1ruBv8dbuXf8jo3yKhGfE9Xu5vXpi7ti/E17ovdt2wK"},
	{SHA512, "ytUIm/Xb3yB16kTpWLMGsdQshDQIRgWveYehTItxpYNIE5CNeIRuSaf9d0+A5sBl6Sdr9wjM9UD7oD17+iNKfcYnX6U="},
}

func TestVerifyRabbitMQHashes(t *testing.T) {
	for _, v := range vectors {
		if !Verify(v.algorithm, v.hash, "simon") {
			t.Errorf("%s: the right password is refused", v.algorithm)
		}
		if Verify(v.algorithm, v.hash, "simoN") {
			t.Errorf("%s: a wrong password is accepted", v.algorithm)
		}
		if err := Check(v.algorithm, v.hash); err != nil {
			t.Errorf("%s: Check: %v", v.algorithm, err)
		}
	}
}

func TestHashIsSaltedSHA256(t *testing.T) {
	a, b := Hash("s3cret"), Hash("s3cret")
	if a == b {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, h := range []string{a, b} {
		if !Verify(SHA256, h, "s3cret") || Verify(SHA256, h, "s3cret ") {
			t.Fatalf("hash %s does not verify as SHA256", h)
		}
		if raw, _ := base64.StdEncoding.DecodeString(h); len(raw) != 4+32 {
			t.Fatalf("hash %s is %d bytes, want 36", h, len(raw))
		}
	}
}

func TestNothingMatchesABadHash(t *testing.T) {
	for _, c := range []struct{ name, algorithm, hash string }{
		{"empty hash", SHA256, ""},
		{"not base64", SHA256, "!!!"},
		{"too short", SHA256, base64.StdEncoding.EncodeToString([]byte("abcd"))},
		{"sha512 hash read as sha256", SHA256, vectors[1].hash},
		{"unknown algorithm", "rabbit_password_hashing_md5", "ytUIm8s3AnKsXQjptplKFytfVxI="},
	} {
		if Verify(c.algorithm, c.hash, "simon") || Verify(c.algorithm, c.hash, "") {
			t.Errorf("%s: a password matched", c.name)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name, algorithm, hash, err string
	}{
		{"no password", SHA256, "", ""},
		{"unknown algorithm", "rabbit_password_hashing_md5", "", "unsupported hashing algorithm"},
		{"not base64", SHA256, "a b", "not base64"},
		{"wrong length", SHA512, vectors[0].hash, "makes 68"},
	} {
		err := Check(c.algorithm, c.hash)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.err)
		}
	}
}
