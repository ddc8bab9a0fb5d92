"""``python -m jetkube.services.controllers``."""

from .main import main

main()
