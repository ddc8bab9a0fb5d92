"""``python -m jetkube.services.proxy``: the same as ``jetkube-proxy``."""

from .main import main

main()
