"""jetkube: Kubernetes' control plane and node agents on a NATS JetStream bus.

The import root.  The code lives in the repo's top-level folders and is
installed beneath this package: ``jetkube.schemas`` (API objects),
``jetkube.services`` (machinery and the services) and ``jetkube.cli`` (kctl).
"""

__version__ = "0.1.0"
