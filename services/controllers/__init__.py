"""kube-controller-manager: one leader-elected process running the controllers, one file each."""
