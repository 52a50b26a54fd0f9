"""``chatlens audit``: a reader's sample of a run, and the run's rates corrected by it.

Why: held out, the default refusal detector's precision and recall on a log from a new source are
both about 0.65, and its count is off by a factor that differs from log to log (0.78 to 1.70 over
the sources of ``chatlens validate``). A rate to publish needs the log's *own* error. This package
is the two-phase design that gives it (:mod:`chatlens.stats.two_phase`):

1. :func:`draw_audit_sample` draws messages of a finished run at random within each cell (group ×
   the detector's verdict), equal numbers per cell, and attaches their text and the messages
   around them — from the run when it kept text, else by reading the run's source again (checked
   against the run's input fingerprint and message lengths). The sample is shuffled and carries
   no detector output, so the reader judges blind; a design file records the draw.
2. A reader labels each row against ``docs/labels.md`` in the file's order (any prefix of it is
   still a random sample of every cell).
3. :func:`estimate_audit` reads the labels and returns each group's corrected rate (or each
   label's share) with a 95% interval, and the detector's precision, recall and flagged ÷ true on
   this log.

Modules: ``signals`` (what each audited signal reads and which labels a reader may give),
``run`` (the run directory: manifest, the judged messages), ``text`` (the sampled messages'
text), ``sample`` (the draw and its design), ``estimate`` (labels → corrected rates).
"""

from __future__ import annotations

from chatlens.audit.estimate import AuditEstimate, estimate_audit, read_design
from chatlens.audit.run import population
from chatlens.audit.sample import AuditSample, allocate, design_path_for, draw_audit_sample
from chatlens.audit.signals import KEY, SIGNALS, SignalSpec, parse_labels, signal_spec

__all__ = ["KEY", "SIGNALS", "AuditEstimate", "AuditSample", "SignalSpec", "allocate",
           "design_path_for", "draw_audit_sample", "estimate_audit", "parse_labels", "population",
           "read_design", "signal_spec"]
