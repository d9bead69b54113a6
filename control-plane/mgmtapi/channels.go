package mgmtapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/warrenmq/warren/api/connadmin"
)

// Channel and Consumer are RabbitMQ's shapes of a channel and a consumer,
// which the gateways hold and describe.
type (
	Channel  = connadmin.Channel
	Consumer = connadmin.Consumer
)

func (a *API) channelRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /api/channels", anyManagement, a.listChannels)
	a.handle(mux, "GET /api/channels/{name}", anyManagement, a.getChannel)
	a.handle(mux, "GET /api/vhosts/{vhost}/channels", anyManagement, a.listChannels)
	a.handle(mux, "GET /api/connections/{name}/channels", anyManagement, a.connectionChannels)
	a.handle(mux, "GET /api/consumers", anyManagement, a.listConsumers)
	a.handle(mux, "GET /api/consumers/{vhost}", anyManagement, a.listConsumers)
}

// channels lists the channels the caller may see, as connections: every
// one for administrators and monitoring users, their own for others.
func (a *API) channels(c *caller) ([]Channel, error) {
	if a.conns == nil {
		return []Channel{}, nil
	}
	all, err := a.conns.Channels(c.ctx, c.inst)
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]Channel, 0, len(all))
	for _, ch := range all {
		if c.monitor() || ch.User == c.user.Name {
			out = append(out, ch)
		}
	}
	slices.SortFunc(out, func(x, y Channel) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

// listChannels answers /api/channels and, with a vhost in the path,
// /api/vhosts/{vhost}/channels.
func (a *API) listChannels(w http.ResponseWriter, r *http.Request, c *caller) error {
	chs, err := a.channels(c)
	if err != nil {
		return err
	}
	if vhost := pathValue(r, "vhost"); r.PathValue("vhost") != "" {
		chs = slices.DeleteFunc(chs, func(ch Channel) bool { return ch.VHost != vhost })
	}
	writeJSON(w, http.StatusOK, chs)
	return nil
}

func (a *API) getChannel(w http.ResponseWriter, r *http.Request, c *caller) error {
	chs, err := a.channels(c)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(chs, func(ch Channel) bool { return ch.Name == pathValue(r, "name") })
	if i < 0 {
		return errNotFound
	}
	writeJSON(w, http.StatusOK, chs[i])
	return nil
}

func (a *API) connectionChannels(w http.ResponseWriter, r *http.Request, c *caller) error {
	chs, err := a.channels(c)
	if err != nil {
		return err
	}
	name := pathValue(r, "name")
	writeJSON(w, http.StatusOK, slices.DeleteFunc(chs, func(ch Channel) bool { return ch.ConnectionDetails.Name != name }))
	return nil
}

// listConsumers answers /api/consumers and /api/consumers/{vhost}: the
// consumers on the channels the caller may see.
func (a *API) listConsumers(w http.ResponseWriter, r *http.Request, c *caller) error {
	out := []Consumer{}
	if a.conns != nil {
		all, err := a.conns.Consumers(c.ctx, c.inst)
		if err != nil {
			return unavailable(err)
		}
		vhost := pathValue(r, "vhost")
		for _, cons := range all {
			mine := c.monitor() || cons.ChannelDetails.User == c.user.Name
			if mine && (r.PathValue("vhost") == "" || cons.Queue.VHost == vhost) {
				out = append(out, cons)
			}
		}
	}
	slices.SortFunc(out, func(x, y Consumer) int {
		return strings.Compare(x.ChannelDetails.Name+"\x00"+x.ConsumerTag, y.ChannelDetails.Name+"\x00"+y.ConsumerTag)
	})
	writeJSON(w, http.StatusOK, out)
	return nil
}

// unavailable is the answer when the gateways could not be asked.
func unavailable(err error) *apiError {
	return &apiError{http.StatusServiceUnavailable, "service_unavailable", err.Error()}
}
