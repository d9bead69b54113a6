package mgmtapi

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// flexBool reads a JSON boolean, or "true"/"false" as rabbitmqadmin sends
// them: RabbitMQ's API takes both.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	var v bool
	if err := json.Unmarshal(data, &v); err == nil {
		*b = flexBool(v)
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("want a boolean, got %s", data)
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want a boolean, got %q", s)
	}
	*b = flexBool(v)
	return nil
}

// ptr is b as a *bool, nil when absent.
func (b *flexBool) ptr() *bool {
	if b == nil {
		return nil
	}
	v := bool(*b)
	return &v
}

// flexInt reads a JSON integer, or one written as a string, as
// rabbitmqadmin sends a policy's priority.
type flexInt int32

func (n *flexInt) UnmarshalJSON(data []byte) error {
	var v int32
	if err := json.Unmarshal(data, &v); err == nil {
		*n = flexInt(v)
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("want an integer, got %s", data)
	}
	i, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return fmt.Errorf("want an integer, got %q", s)
	}
	*n = flexInt(i)
	return nil
}
