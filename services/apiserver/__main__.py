"""``python -m jetkube.services.apiserver``."""

from .main import main

main()
