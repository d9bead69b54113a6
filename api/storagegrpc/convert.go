// Package storagegrpc carries the storage contract (api/storage) over gRPC:
// Server exposes any storage.Node as the Storage service; Client is a
// storage.Node that calls one. Refusals travel as *reply.Error both ways.
package storagegrpc

import (
	"github.com/warrenmq/warren/api/storage"
	pb "github.com/warrenmq/warren/api/storagepb"
)

func toPBSpec(s storage.QueueSpec) *pb.QueueSpec {
	return &pb.QueueSpec{
		Id: uint64(s.ID), Vhost: s.VHost, Name: s.Name,
		Durable: s.Durable, AutoDelete: s.AutoDelete, Exclusive: s.Exclusive,
		MessageTtl: s.MessageTTL, Expires: s.Expires, MaxLength: s.MaxLength, MaxLengthBytes: s.MaxLengthBytes,
		Overflow: uint32(s.Overflow), MaxPriority: uint32(s.MaxPriority),
		HasDlx: s.HasDLX, DeadLetterExchange: s.DeadLetterExchange,
		HasDlRoutingKey: s.HasDLRoutingKey, DeadLetterRoutingKey: s.DeadLetterRoutingKey,
		SingleActiveConsumer: s.SingleActiveConsumer,
	}
}

func fromPBSpec(s *pb.QueueSpec) storage.QueueSpec {
	return storage.QueueSpec{
		ID: storage.QueueID(s.GetId()), VHost: s.GetVhost(), Name: s.GetName(),
		Durable: s.GetDurable(), AutoDelete: s.GetAutoDelete(), Exclusive: s.GetExclusive(),
		MessageTTL: s.GetMessageTtl(), Expires: s.GetExpires(),
		MaxLength: s.GetMaxLength(), MaxLengthBytes: s.GetMaxLengthBytes(),
		Overflow: storage.Overflow(s.GetOverflow()), MaxPriority: uint8(s.GetMaxPriority()),
		HasDLX: s.GetHasDlx(), DeadLetterExchange: s.GetDeadLetterExchange(),
		HasDLRoutingKey: s.GetHasDlRoutingKey(), DeadLetterRoutingKey: s.GetDeadLetterRoutingKey(),
		SingleActiveConsumer: s.GetSingleActiveConsumer(),
	}
}

func toPBStats(s storage.QueueStats) *pb.QueueStats {
	return &pb.QueueStats{
		Ready: s.Ready, Unacked: s.Unacked, Consumers: s.Consumers, ReadyBytes: s.ReadyBytes,
		HotMessages: s.HotMessages, HotBytes: s.HotBytes, ColdMessages: s.ColdMessages, ColdBytes: s.ColdBytes,
		Segments: s.Segments, Counts: toPBCounts(s.Counts), Rates: toPBRates(s.Rates),
	}
}

func toPBCounts(c storage.MessageCounts) *pb.MessageCounts {
	return &pb.MessageCounts{Publish: c.Publish, Deliver: c.Deliver, DeliverNoAck: c.DeliverNoAck,
		Get: c.Get, GetNoAck: c.GetNoAck, GetEmpty: c.GetEmpty, Redeliver: c.Redeliver, Ack: c.Ack}
}

func toPBRates(r storage.MessageRates) *pb.MessageRates {
	return &pb.MessageRates{Publish: r.Publish, Deliver: r.Deliver, DeliverNoAck: r.DeliverNoAck,
		Get: r.Get, GetNoAck: r.GetNoAck, GetEmpty: r.GetEmpty, Redeliver: r.Redeliver, Ack: r.Ack}
}

func fromPBStats(s *pb.QueueStats) storage.QueueStats {
	return storage.QueueStats{
		Ready: s.GetReady(), Unacked: s.GetUnacked(), Consumers: s.GetConsumers(), ReadyBytes: s.GetReadyBytes(),
		HotMessages: s.GetHotMessages(), HotBytes: s.GetHotBytes(),
		ColdMessages: s.GetColdMessages(), ColdBytes: s.GetColdBytes(), Segments: s.GetSegments(),
		Counts: fromPBCounts(s.GetCounts()), Rates: fromPBRates(s.GetRates()),
	}
}

func fromPBCounts(c *pb.MessageCounts) storage.MessageCounts {
	return storage.MessageCounts{Publish: c.GetPublish(), Deliver: c.GetDeliver(), DeliverNoAck: c.GetDeliverNoAck(),
		Get: c.GetGet(), GetNoAck: c.GetGetNoAck(), GetEmpty: c.GetGetEmpty(), Redeliver: c.GetRedeliver(), Ack: c.GetAck()}
}

func fromPBRates(r *pb.MessageRates) storage.MessageRates {
	return storage.MessageRates{Publish: r.GetPublish(), Deliver: r.GetDeliver(), DeliverNoAck: r.GetDeliverNoAck(),
		Get: r.GetGet(), GetNoAck: r.GetGetNoAck(), GetEmpty: r.GetGetEmpty(), Redeliver: r.GetRedeliver(), Ack: r.GetAck()}
}

func toPBMessage(m *storage.Message) *pb.Message {
	return &pb.Message{
		Exchange: m.Exchange, RoutingKey: m.RoutingKey, Properties: m.Properties, Body: m.Body,
		Persistent: m.Persistent, Priority: uint32(m.Priority), Ttl: m.TTL,
	}
}

func fromPBMessage(m *pb.Message) *storage.Message {
	return &storage.Message{
		Exchange: m.GetExchange(), RoutingKey: m.GetRoutingKey(), Properties: m.GetProperties(), Body: m.GetBody(),
		Persistent: m.GetPersistent(), Priority: uint8(m.GetPriority()), TTL: m.GetTtl(),
	}
}

func toPBDelivery(d storage.Delivery) *pb.Delivery {
	return &pb.Delivery{Tag: d.Tag, Queue: uint64(d.Queue), Id: uint64(d.ID), Redelivered: d.Redelivered, Msg: toPBMessage(d.Msg)}
}

func fromPBDelivery(d *pb.Delivery) storage.Delivery {
	return storage.Delivery{
		Tag: d.GetTag(), Queue: storage.QueueID(d.GetQueue()), ID: storage.MsgID(d.GetId()),
		Redelivered: d.GetRedelivered(), Msg: fromPBMessage(d.GetMsg()),
	}
}

func toQueueIDs(ids []uint64) []storage.QueueID {
	out := make([]storage.QueueID, len(ids))
	for i, id := range ids {
		out[i] = storage.QueueID(id)
	}
	return out
}

func fromQueueIDs(ids []storage.QueueID) []uint64 {
	out := make([]uint64, len(ids))
	for i, id := range ids {
		out[i] = uint64(id)
	}
	return out
}
