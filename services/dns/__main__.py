"""``python -m jetkube.services.dns``: the same as ``jetkube-dns``."""

from .main import main

main()
