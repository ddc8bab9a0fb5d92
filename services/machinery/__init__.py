"""The shared client library (the client-go of jetkube); the only code that uses nats-py."""
