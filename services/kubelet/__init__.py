"""The node agent (kubelet): registers its Node, renews its Lease, runs the pods bound to it."""
