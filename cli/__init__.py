"""kctl: the rich terminal CLI."""
