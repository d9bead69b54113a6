package wire

import (
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/warrenmq/warren/api/amqp"
)

// rabbitConnectionStart is a connection.start frame as RabbitMQ 3.12 sends
// it, written out by hand: server-properties with a nested capabilities
// table of bools, in RabbitMQ's (unsorted) key order.
const rabbitConnectionStart = "\x01\x00\x00\x00\x00\x01\xaa" + // method frame, channel 0, 426 bytes
	"\x00\x0a\x00\x0a" + // connection.start
	"\x00\x09" + // version 0-9
	"\x00\x00\x01\x85" + // server-properties, 389 bytes
	"\x0ccapabilities" + "F\x00\x00\x00\xc7" +
	"\x12publisher_confirms" + "t\x01" +
	"\x1aexchange_exchange_bindings" + "t\x01" +
	"\x0abasic.nack" + "t\x01" +
	"\x16consumer_cancel_notify" + "t\x01" +
	"\x12connection.blocked" + "t\x01" +
	"\x13consumer_priorities" + "t\x01" +
	"\x1cauthentication_failure_close" + "t\x01" +
	"\x10per_consumer_qos" + "t\x01" +
	"\x0fdirect_reply_to" + "t\x01" +
	"\x0ccluster_name" + "S\x00\x00\x00\x0drabbit@warren" +
	"\x09copyright" + "S\x00\x00\x00\x37Copyright (c) 2007-2023 VMware, Inc. or its affiliates." +
	"\x08platform" + "S\x00\x00\x00\x11Erlang/OTP 26.0.2" +
	"\x07product" + "S\x00\x00\x00\x08RabbitMQ" +
	"\x07version" + "S\x00\x00\x00\x063.12.4" +
	"\x00\x00\x00\x0ePLAIN AMQPLAIN" + // mechanisms
	"\x00\x00\x00\x05en_US" + // locales
	"\xce"

var rabbitConnectionStartMethod = &ConnectionStart{
	VersionMajor: 0,
	VersionMinor: 9,
	ServerProperties: amqp.Table{
		"capabilities": amqp.Table{
			"publisher_confirms": true, "exchange_exchange_bindings": true, "basic.nack": true,
			"consumer_cancel_notify": true, "connection.blocked": true, "consumer_priorities": true,
			"authentication_failure_close": true, "per_consumer_qos": true, "direct_reply_to": true,
		},
		"cluster_name": "rabbit@warren",
		"copyright":    "Copyright (c) 2007-2023 VMware, Inc. or its affiliates.",
		"platform":     "Erlang/OTP 26.0.2",
		"product":      "RabbitMQ",
		"version":      "3.12.4",
	},
	Mechanisms: "PLAIN AMQPLAIN",
	Locales:    "en_US",
}

func TestDecodeRabbitMQConnectionStart(t *testing.T) {
	r := NewFrameReader(strings.NewReader(rabbitConnectionStart))
	f, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != FrameMethod || f.Channel != 0 || len(f.Payload) != 426 {
		t.Fatalf("frame type %d channel %d payload %d bytes", f.Type, f.Channel, len(f.Payload))
	}
	m, err := DecodeMethod(f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, rabbitConnectionStartMethod) {
		t.Errorf("got  %#v\nwant %#v", m, rabbitConnectionStartMethod)
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Errorf("after the frame: err = %v, want io.EOF", err)
	}
}

// methodCases are methods whose encoding is written out by hand:
// class-id, method-id, arguments.
var methodCases = []struct {
	name    string
	m       Method
	payload string
}{
	{"basic.publish mandatory", &BasicPublish{Exchange: "ex", RoutingKey: "rk", Mandatory: true},
		"\x00\x3c\x00\x28" + "\x00\x00" + "\x02ex" + "\x02rk" + "\x01"},
	{"basic.publish immediate", &BasicPublish{Reserved1: 7, Immediate: true},
		"\x00\x3c\x00\x28" + "\x00\x07" + "\x00" + "\x00" + "\x02"},
	{"basic.deliver", &BasicDeliver{ConsumerTag: "ctag", DeliveryTag: 1<<40 + 5, Redelivered: true, Exchange: "", RoutingKey: "q"},
		"\x00\x3c\x00\x3c" + "\x04ctag" + "\x00\x00\x01\x00\x00\x00\x00\x05" + "\x01" + "\x00" + "\x01q"},
	{"queue.declare passive", &QueueDeclare{Queue: "q", Passive: true},
		"\x00\x32\x00\x0a\x00\x00\x01q" + "\x01" + "\x00\x00\x00\x00"},
	{"queue.declare durable", &QueueDeclare{Queue: "q", Durable: true},
		"\x00\x32\x00\x0a\x00\x00\x01q" + "\x02" + "\x00\x00\x00\x00"},
	{"queue.declare exclusive", &QueueDeclare{Queue: "q", Exclusive: true},
		"\x00\x32\x00\x0a\x00\x00\x01q" + "\x04" + "\x00\x00\x00\x00"},
	{"queue.declare auto-delete", &QueueDeclare{Queue: "q", AutoDelete: true},
		"\x00\x32\x00\x0a\x00\x00\x01q" + "\x08" + "\x00\x00\x00\x00"},
	{"queue.declare no-wait and args", &QueueDeclare{Queue: "q", NoWait: true, Arguments: amqp.Table{"x-max-length": int64(10)}},
		"\x00\x32\x00\x0a\x00\x00\x01q" + "\x10" + "\x00\x00\x00\x16\x0cx-max-lengthl\x00\x00\x00\x00\x00\x00\x00\x0a"},
	{"queue.declare all bits", &QueueDeclare{Passive: true, Durable: true, Exclusive: true, AutoDelete: true, NoWait: true},
		"\x00\x32\x00\x0a\x00\x00\x00" + "\x1f" + "\x00\x00\x00\x00"},
	{"exchange.declare bits", &ExchangeDeclare{Exchange: "x", Type: "topic", Durable: true, Internal: true},
		"\x00\x28\x00\x0a\x00\x00\x01x\x05topic" + "\x0a" + "\x00\x00\x00\x00"},
	{"exchange.unbind-ok is method 51", &ExchangeUnbindOk{}, "\x00\x28\x00\x33"},
	{"connection.close", &ConnectionClose{ReplyCode: NotFound, ReplyText: "NOT_FOUND - no queue 'q'", ClassId: 60, MethodId: 20},
		"\x00\x0a\x00\x32\x01\x94\x18NOT_FOUND - no queue 'q'\x00\x3c\x00\x14"},
	{"connection.tune", &ConnectionTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 60},
		"\x00\x0a\x00\x1e\x07\xff\x00\x02\x00\x00\x00\x3c"},
	{"connection.open", &ConnectionOpen{VirtualHost: "/"}, "\x00\x0a\x00\x28\x01/\x00\x00"},
	{"channel.open-ok longstr", &ChannelOpenOk{Reserved1: "ab"}, "\x00\x14\x00\x0b\x00\x00\x00\x02ab"},
	{"basic.nack multiple requeue", &BasicNack{DeliveryTag: 3, Multiple: true, Requeue: true},
		"\x00\x3c\x00\x78\x00\x00\x00\x00\x00\x00\x00\x03\x03"},
	{"basic.qos global", &BasicQos{PrefetchCount: 10, Global: true}, "\x00\x3c\x00\x0a\x00\x00\x00\x00\x00\x0a\x01"},
	{"confirm.select nowait", &ConfirmSelect{Nowait: true}, "\x00\x55\x00\x0a\x01"},
	{"tx.commit", &TxCommit{}, "\x00\x5a\x00\x14"},
	{"connection.blocked", &ConnectionBlocked{Reason: "low memory"}, "\x00\x0a\x00\x3c\x0alow memory"},
	{"connection.update-secret", &ConnectionUpdateSecret{NewSecret: "s", Reason: "r"},
		"\x00\x0a\x00\x46\x00\x00\x00\x01s\x01r"},
}

func TestMethodsHandwritten(t *testing.T) {
	for _, tc := range methodCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.m.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.payload {
				t.Errorf("Append:\ngot  %q\nwant %q", got, tc.payload)
			}
			m, err := DecodeMethod([]byte(tc.payload))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, tc.m) {
				t.Errorf("DecodeMethod:\ngot  %#v\nwant %#v", m, tc.m)
			}
		})
	}
}

func TestMethodIdentity(t *testing.T) {
	for _, tc := range []struct {
		m          Method
		class, id  uint16
		name       string
		hasContent bool
	}{
		{&BasicPublish{}, 60, 40, "basic.publish", true},
		{&BasicReturn{}, 60, 50, "basic.return", true},
		{&BasicDeliver{}, 60, 60, "basic.deliver", true},
		{&BasicGetOk{}, 60, 71, "basic.get-ok", true},
		{&BasicGetEmpty{}, 60, 72, "basic.get-empty", false},
		{&ExchangeUnbindOk{}, 40, 51, "exchange.unbind-ok", false},
		{&ConfirmSelectOk{}, 85, 11, "confirm.select-ok", false},
		{&ConnectionUnblocked{}, 10, 61, "connection.unblocked", false},
	} {
		if tc.m.ClassID() != tc.class || tc.m.MethodID() != tc.id || tc.m.Name() != tc.name || tc.m.HasContent() != tc.hasContent {
			t.Errorf("%T: got %d/%d %q content=%v, want %d/%d %q content=%v", tc.m,
				tc.m.ClassID(), tc.m.MethodID(), tc.m.Name(), tc.m.HasContent(), tc.class, tc.id, tc.name, tc.hasContent)
		}
	}
}

func TestDecodeMethodErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload string
		want    error
	}{
		{"empty", "", ErrMalformed},
		{"no method id", "\x00\x3c\x00", ErrMalformed},
		{"unknown class", "\x00\x63\x00\x0a", ErrUnknownMethod},
		{"unknown method", "\x00\x3c\x00\x29", ErrUnknownMethod},
		{"class 0", "\x00\x00\x00\x00", ErrUnknownMethod},
		{"exchange.unbind-ok is not 41", "\x00\x28\x00\x29", ErrUnknownMethod},
		{"truncated publish", "\x00\x3c\x00\x28\x00\x00\x02ex", ErrMalformed},
		{"publish without bits", "\x00\x3c\x00\x28\x00\x00\x02ex\x02rk", ErrMalformed},
		{"short string overruns", "\x00\x3c\x00\x28\x00\x00\xffex", ErrMalformed},
		{"trailing bytes", "\x00\x3c\x00\x28\x00\x00\x00\x00\x00\xff", ErrMalformed},
		{"trailing bytes on empty method", "\x00\x5a\x00\x14\x00", ErrMalformed},
		{"long string claims 4 GiB", "\x00\x0a\x00\x15\xff\xff\xff\xff", ErrMalformed},
		{"table claims 2 GiB", "\x00\x32\x00\x0a\x00\x00\x01q\x00\x7f\xff\xff\xff", ErrMalformed},
		{"bad table value", "\x00\x32\x00\x0a\x00\x00\x01q\x00\x00\x00\x00\x03\x01kZ", amqp.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeMethod([]byte(tc.payload))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if m != nil {
				t.Errorf("got method %#v with an error", m)
			}
		})
	}
}

func TestAppendErrorsLeaveBufferIntact(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, m := range []Method{
		&BasicPublish{Exchange: long},
		&BasicPublish{RoutingKey: long},
		&ConnectionClose{ReplyText: long},
		&QueueDeclare{Arguments: amqp.Table{"k": struct{}{}}},
		&ConnectionStartOk{Locale: long},
	} {
		got, err := m.Append([]byte("keep"))
		if err == nil {
			t.Errorf("%s: no error", m.Name())
		}
		if string(got) != "keep" {
			t.Errorf("%s: buffer changed to %q", m.Name(), got)
		}
	}
	if _, err := (&BasicPublish{Exchange: long[:255]}).Append(nil); err != nil {
		t.Errorf("255-byte short string: %v", err)
	}
}

func TestDecodeMethodCopiesPayload(t *testing.T) {
	in := []byte(methodCases[0].payload)
	m, _ := DecodeMethod(in)
	for i := range in {
		in[i] = 'z'
	}
	if p := m.(*BasicPublish); p.Exchange != "ex" || p.RoutingKey != "rk" {
		t.Errorf("decoded strings changed with the payload: %#v", p)
	}
}

func TestReplyNames(t *testing.T) {
	for code, want := range map[uint16]string{
		ReplySuccess: "REPLY_SUCCESS", NoRoute: "NO_ROUTE", NotFound: "NOT_FOUND",
		PreconditionFailed: "PRECONDITION_FAILED", FrameErrorCode: "FRAME_ERROR",
		NotImplemented: "NOT_IMPLEMENTED", InternalError: "INTERNAL_ERROR", 999: "",
	} {
		if got := ReplyName(code); got != want {
			t.Errorf("ReplyName(%d) = %q, want %q", code, got, want)
		}
	}
	// RabbitMQ closes the connection for these and the channel for the rest
	// (rabbit_binary_generator:map_exception/2).
	hard := []uint16{320, 402, 501, 502, 503, 504, 505, 506, 530, 540, 541}
	for _, code := range []uint16{200, 311, 312, 313, 320, 402, 403, 404, 405, 406, 501, 502, 503, 504, 505, 506, 530, 540, 541} {
		want := slices.Contains(hard, code)
		if IsHardError(code) != want {
			t.Errorf("IsHardError(%d) = %v, want %v", code, !want, want)
		}
	}
}
