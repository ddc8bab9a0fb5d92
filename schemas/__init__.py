"""API object models (pydantic v2) with Kubernetes field names and shapes; no I/O."""
