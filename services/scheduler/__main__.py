"""``python -m jetkube.services.scheduler``: the same as ``jetkube-scheduler``."""

from .main import main

main()
