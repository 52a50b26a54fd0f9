"""The analysis pipeline: the batch stages that join the layers (signals → features), and the
profiles that choose them.

Each stage is a pure function ``CanonicalBatch -> CanonicalBatch`` that only adds columns, so the
same code runs in one process, in a process pool or on a Dask cluster (``chatlens.engine``, where
the stages are registered by name). A profile (:mod:`chatlens.pipeline.profile`, data files in
``chatlens/data/profiles/``) lists which stages a run applies and with which parameters.
"""
