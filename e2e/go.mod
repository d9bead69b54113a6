module github.com/warrenmq/warren/e2e

go 1.26.0

require github.com/rabbitmq/amqp091-go v1.16.0

require github.com/warrenmq/warren/storage-node v0.0.0

replace github.com/warrenmq/warren/storage-node => ../storage-node
