package topology

// User is an AMQP user of an instance. The password is kept only as a
// salted hash in RabbitMQ's format (api/passhash); an empty hash means the
// user cannot log in with a password.
type User struct {
	Name             string   `json:"name"`
	PasswordHash     string   `json:"password_hash"`
	HashingAlgorithm string   `json:"hashing_algorithm"`
	Tags             []string `json:"tags"`
}

// Permission is what one user may do in one vhost: RabbitMQ's configure,
// write and read regular expressions over resource names ("" matches
// nothing).
type Permission struct {
	VHost     string `json:"vhost"`
	User      string `json:"user"`
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

// FullAccess is the permission RabbitMQ gives its default user.
func FullAccess(vhost, user string) Permission {
	return Permission{VHost: vhost, User: user, Configure: ".*", Write: ".*", Read: ".*"}
}
