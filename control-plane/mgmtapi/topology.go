package mgmtapi

import (
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/warrenmq/warren/api/amqp"
	pb "github.com/warrenmq/warren/api/provisionpb"
)

type exchangeJSON struct {
	Name                   string         `json:"name"`
	VHost                  string         `json:"vhost"`
	Type                   string         `json:"type"`
	Durable                bool           `json:"durable"`
	AutoDelete             bool           `json:"auto_delete"`
	Internal               bool           `json:"internal"`
	Arguments              map[string]any `json:"arguments"`
	UserWhoPerformedAction string         `json:"user_who_performed_action"`
}

// queueJSON is RabbitMQ 3.10's queue with the fields Warren can fill;
// rates read 0 until they are measured.
type queueJSON struct {
	Name                       string         `json:"name"`
	VHost                      string         `json:"vhost"`
	Durable                    bool           `json:"durable"`
	AutoDelete                 bool           `json:"auto_delete"`
	Exclusive                  bool           `json:"exclusive"`
	Arguments                  map[string]any `json:"arguments"`
	Node                       string         `json:"node"`
	State                      string         `json:"state"`
	Type                       string         `json:"type"`
	Policy                     *string        `json:"policy"`
	OperatorPolicy             *string        `json:"operator_policy"`
	EffectivePolicyDefinition  map[string]any `json:"effective_policy_definition"`
	ExclusiveConsumerTag       *string        `json:"exclusive_consumer_tag"`
	SingleActiveConsumerTag    *string        `json:"single_active_consumer_tag"`
	HeadMessageTimestamp       *int64         `json:"head_message_timestamp"`
	RecoverableSlaves          []string       `json:"recoverable_slaves"` // null: no mirrors
	Consumers                  uint32         `json:"consumers"`
	ConsumerCapacity           float64        `json:"consumer_capacity"`
	ConsumerUtilisation        float64        `json:"consumer_utilisation"`
	MessageBytes               uint64         `json:"message_bytes"`
	MessageBytesReady          uint64         `json:"message_bytes_ready"`
	MessageBytesUnacknowledged uint64         `json:"message_bytes_unacknowledged"`
	Memory                     uint64         `json:"memory"`
	MessageStats               map[string]any `json:"message_stats,omitempty"` // absent until a message passed
	queueTotals
}

func argsJSON(s *structpb.Struct) map[string]any {
	if s == nil {
		return map[string]any{}
	}
	t, err := amqp.TableFromJSON(s.AsMap())
	if err != nil {
		return s.AsMap()
	}
	return amqp.TableToJSON(t) // whole numbers as integers, as RabbitMQ writes them
}

func exchangeJSONOf(x *pb.Exchange) exchangeJSON {
	return exchangeJSON{Name: x.GetName(), VHost: x.GetVhost(), Type: x.GetType(), Durable: x.GetDurable(),
		AutoDelete: x.GetAutoDelete(), Internal: x.GetInternal(), Arguments: argsJSON(x.GetArguments())}
}

func (a *API) queueJSONOf(inst string, q *pb.Queue) queueJSON {
	st := q.GetStats()
	out := queueJSON{Name: q.GetName(), VHost: q.GetVhost(), Durable: q.GetDurable(), AutoDelete: q.GetAutoDelete(),
		Exclusive: q.GetExclusive(), Arguments: argsJSON(q.GetArguments()), Node: a.opts.Node, State: "running",
		Type: "classic", Consumers: st.GetConsumers(),
		MessageBytes: st.GetMessageBytesReady(), MessageBytesReady: st.GetMessageBytesReady()}
	out.Policy, out.EffectivePolicyDefinition = a.queuePolicy(inst, q.GetVhost(), q.GetName())
	if st == nil {
		out.State = "down" // the owning storage node did not answer
	}
	out.MessagesReady, out.MessagesUnacked = st.GetMessagesReady(), st.GetMessagesUnacknowledged()
	out.Messages = out.MessagesReady + out.MessagesUnacked
	out.MessageStats = flowsOf(st).messageStats()
	return out
}
