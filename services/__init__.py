"""The services: shared machinery and one package per service. Services never import each other."""
