package definitions

import (
	"errors"

	"github.com/warrenmq/warren/api/reply"
)

// replyText drops an AMQP refusal's code, keeping RabbitMQ's text: in a
// definitions file the code means nothing.
func replyText(err error) error {
	var re *reply.Error
	if errors.As(err, &re) {
		return errors.New(re.Text)
	}
	return err
}
