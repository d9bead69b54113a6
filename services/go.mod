module github.com/warrenmq/warren/services

go 1.26

require (
	github.com/rabbitmq/amqp091-go v1.16.0 // indirect
	github.com/warrenmq/warren/api v0.0.0
	github.com/warrenmq/warren/control-plane v0.0.0
	github.com/warrenmq/warren/gateway v0.0.0
	github.com/warrenmq/warren/storage-node v0.0.0
)

replace github.com/warrenmq/warren/api => ../api

replace github.com/warrenmq/warren/gateway => ../gateway

replace github.com/warrenmq/warren/control-plane => ../control-plane

replace github.com/warrenmq/warren/storage-node => ../storage-node
