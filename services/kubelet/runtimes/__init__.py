"""Container runtimes behind kubelet.runtime.Runtime: docker (real containers) and sim (hollow)."""
