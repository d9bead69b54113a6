// Package auth checks AMQP logins for a gateway.
package auth

import (
	"crypto/subtle"
	"net"
)

// Static is a fixed user table: the embedded default's guest/guest.
// guest may log in only from loopback, as RabbitMQ's loopback_users.
type Static struct {
	Users         map[string]string // user → password
	LoopbackUsers map[string]bool
}

// Guest is RabbitMQ's default: guest/guest, loopback only.
func Guest() *Static {
	return &Static{Users: map[string]string{"guest": "guest"}, LoopbackUsers: map[string]bool{"guest": true}}
}

// Authenticate implements conn.Authenticator.
func (s *Static) Authenticate(user, password string, remote net.Addr) (bool, string) {
	want, ok := s.Users[user]
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(password)) != 1 {
		return false, "invalid credentials"
	}
	if s.LoopbackUsers[user] && !isLoopback(remote) {
		return false, "user '" + user + "' can only connect via localhost"
	}
	return true, ""
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
