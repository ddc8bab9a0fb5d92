"""The service proxy (kube-proxy, iptables mode): one ``jetkube-proxy`` per node.

``main`` (flags, ``run_service``) -> ``proxier`` (informers on Services, Endpoints and
the Node feed one work-queue key; each sync recomputes everything and applies it)
-> ``model`` (API objects to :class:`~.model.ServicePortInfo` with ready endpoints) and
``rules`` (the pure function from those to iptables-restore text).  ``config`` holds
the settings and the names of what the proxy creates on the host.
"""
