"""API server: Kubernetes REST over HTTP, and the same handlers over NATS request/reply."""
