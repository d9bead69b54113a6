package mgmtapi

import (
	"net/http"

	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/warrenmq/warren/api/provisionpb"
)

func (a *API) listQueues(w http.ResponseWriter, r *http.Request, c *caller) error {
	vhost := pathValue(r, "vhost")
	if err := a.visibleVHost(c, vhost); err != nil {
		return err
	}
	list, err := a.svc.ListQueues(c.ctx, &pb.ListQueuesRequest{Instance: c.inst, Vhost: vhost})
	if err != nil {
		return err
	}
	out := []queueJSON{}
	for _, q := range list.GetQueues() {
		if a.canSee(c, q.GetVhost()) {
			out = append(out, a.queueJSONOf(c.inst, q))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getQueue(w http.ResponseWriter, r *http.Request, c *caller) error {
	vhost := pathValue(r, "vhost")
	if err := a.visibleVHost(c, vhost); err != nil {
		return err
	}
	q, err := a.svc.GetQueue(c.ctx, &pb.GetQueueRequest{Instance: c.inst, Vhost: vhost, Name: pathValue(r, "name")})
	if err != nil {
		return err
	}
	// One queue carries its consumers and message flows too; Warren
	// reports the consumer count only so far.
	writeJSON(w, http.StatusOK, struct {
		queueJSON
		ConsumerDetails []any `json:"consumer_details"`
		Deliveries      []any `json:"deliveries"`
		Incoming        []any `json:"incoming"`
	}{a.queueJSONOf(c.inst, q), []any{}, []any{}, []any{}})
	return nil
}

// queueBody is PUT /api/queues/{vhost}/{name}; node is accepted and
// ignored (placement picks the storage node), type must be classic.
type queueBody struct {
	Durable    *flexBool      `json:"durable"`
	AutoDelete flexBool       `json:"auto_delete"`
	Arguments  map[string]any `json:"arguments"`
	Node       string         `json:"node"`
	Type       string         `json:"type"`
	VHost      string         `json:"vhost"`
	Name       string         `json:"name"`
}

func (a *API) putQueue(w http.ResponseWriter, r *http.Request, c *caller) error {
	var b queueBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if b.Type != "" && b.Type != "classic" {
		return badRequest("Warren has classic queues only")
	}
	vhost, name := pathValue(r, "vhost"), pathValue(r, "name")
	if err := a.checkDeclare(c, vhost, name); err != nil {
		return err
	}
	args, err := structpb.NewStruct(b.Arguments)
	if err != nil {
		return badRequest(err.Error())
	}
	_, err = a.svc.GetQueue(c.ctx, &pb.GetQueueRequest{Instance: c.inst, Vhost: vhost, Name: name})
	isNew := fromStatus(err) == errNotFound
	_, err = a.svc.CreateQueue(c.ctx, &pb.CreateQueueRequest{Instance: c.inst, Vhost: vhost, Name: name,
		Durable: b.Durable.ptr(), AutoDelete: bool(b.AutoDelete), Arguments: args})
	if err != nil {
		return err
	}
	created(w, isNew)
	return nil
}

func (a *API) deleteQueue(w http.ResponseWriter, r *http.Request, c *caller) error {
	vhost, name := pathValue(r, "vhost"), pathValue(r, "name")
	if err := a.checkDeclare(c, vhost, name); err != nil {
		return err
	}
	q := r.URL.Query()
	_, err := a.svc.DeleteQueue(c.ctx, &pb.DeleteQueueRequest{Instance: c.inst, Vhost: vhost, Name: name,
		IfUnused: q.Get("if-unused") == "true", IfEmpty: q.Get("if-empty") == "true"})
	if err != nil {
		return err
	}
	noContent(w)
	return nil
}

// purgeQueue is DELETE …/contents; it needs read permission on the queue,
// as queue.purge.
func (a *API) purgeQueue(w http.ResponseWriter, r *http.Request, c *caller) error {
	vhost, name := pathValue(r, "vhost"), pathValue(r, "name")
	if err := a.allowed(c, vhost, read, name); err != nil {
		return err
	}
	if _, err := a.svc.PurgeQueue(c.ctx, &pb.PurgeQueueRequest{Instance: c.inst, Vhost: vhost, Name: name}); err != nil {
		return err
	}
	noContent(w)
	return nil
}
