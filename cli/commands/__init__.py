"""kctl subcommands, one module per command family."""
