"""National-scale benchmark of the SIRENE -> marts pipeline (issue 6): ``generate``, ``run``, ``stages``.

See ``docs/performance.md`` for the method and the results.
"""
