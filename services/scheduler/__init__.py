"""kube-scheduler: framework (PreFilter/Filter/Score/Bind) and plugins; leader-elected.

``main`` (flags, ``run_service``) -> ``scheduler`` (informer handlers, the scheduling
loop, binds, failures) over ``queue`` (active/backoff/unschedulable), ``cache``
(nodes with incremental aggregates, assumed pods) and ``algorithm`` (sampled
filtering, scoring, the "0/N nodes are available" message), which runs a
``profile``'s plugins (``plugins/``, configured by ``config``) through the
extension points of ``framework``.  ``podinfo``/``nodeinfo`` are what plugins
read; ``testing`` builds fake nodes and pods.
"""
