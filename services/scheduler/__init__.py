"""kube-scheduler: framework (PreFilter/Filter/Score/Bind) and plugins; leader-elected."""
