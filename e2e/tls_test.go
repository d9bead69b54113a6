package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// selfSigned writes a self-signed certificate for hosts and its key as
// PEM files in dir, and returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string, hosts ...string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAMQPSWithSNI: AMQP over TLS, where the host the client asks for,
// "<instance>.<domain>", chooses the instance a bare user name logs in to.
func TestAMQPSWithSNI(t *testing.T) {
	pending(t)
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir, "*.warren.test", "warren.test")
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	const token = "e2e-amqps-admin-token-0123456789"
	w := startWarren(t, filepath.Join(dir, "data"), "--admin-token", token,
		"--amqps-addr", fmt.Sprintf("127.0.0.1:%d", port), "--tls-cert", certFile, "--tls-key", keyFile, "--tls-domain", "warren.test")
	api := restAPI{base: fmt.Sprintf("http://127.0.0.1:%d", w.httpPort), token: token}
	api.waitUp(t)
	tn := tenant{api: api, name: api.newInstance(t, `{}`)}
	tn.user(t, "app", "pw")
	tn.permit(t, "/", "app", ".*", ".*", ".*")

	dialTLS := func(host, user, password string) (*amqp.Connection, error) {
		u := fmt.Sprintf("amqps://%s@127.0.0.1:%d/", url.UserPassword(user, password), port)
		return amqp.DialTLS(u, &tls.Config{RootCAs: pool, ServerName: host})
	}
	var conn *amqp.Connection
	waitFor(t, func() bool { conn, err = dialTLS(tn.name+".warren.test", "app", "pw"); return err == nil },
		rpcTimeout, "a TLS login naming the instance by SNI (last: %v)", &err)
	defer conn.Close()
	declareQueue(t, openChannel(t, conn), "over-tls", nil)

	// The queue is the instance's: the same user finds it over plain AMQP.
	plain := dialURL(t, fmt.Sprintf("amqp://%s@127.0.0.1:%d/", url.UserPassword(tn.name+":app", "pw"), w.amqpPort))
	if _, err := openChannel(t, plain).QueueDeclarePassive("over-tls", false, false, false, false, nil); err != nil {
		t.Fatalf("the queue declared over TLS is not in the instance: %v", err)
	}
	// Without SNI naming an instance, a bare name is the default instance's.
	_, err = dialTLS("warren.test", "app", "pw")
	var e *amqp.Error
	if !errors.As(err, &e) || e.Code != amqp.AccessRefused {
		t.Fatalf("app without the instance's host name: %v, want 403", err)
	}
	guest, err := dialTLS("warren.test", "guest", "guest")
	if err != nil {
		t.Fatalf("guest over TLS: %v", err)
	}
	guest.Close()
}
