"""The analysis pipeline: batch stages that join the layers (signals → features) for ``analyze``.

Each stage is a pure function ``CanonicalBatch -> CanonicalBatch`` that only adds columns, so the
same code runs in one process, in a process pool or on a Dask cluster (``chatlens.engine``).
"""
