"""The domain: typed tools over the shop's data, free of any agent framework.

Rooms, lowest first: ``shop`` (data model, store, importers, demo), ``customers`` and
``catalog``, then ``recommend``, ``campaigns`` and ``copy``; ``fairness`` audits audiences.
``tools.registry`` lists the tools and wraps them; ``tools.deps.ToolDeps`` carries the stores
and the ``tools.config.ToolConfig`` the agent side builds from its settings.
"""
