"""``chatlens audit``: a reader's sample of a run, and the run's rates corrected by it.

Why: held out, the default refusal detector's precision and recall on a log from a new source are
both about 0.65, and its count is off by a factor that differs from log to log (0.78 to 1.70 over
the sources of ``chatlens validate``). A rate to publish needs the log's *own* error. This package
is the two-phase design that gives it (:mod:`chatlens.stats.two_phase`):

1. :func:`draw_audit_sample` draws messages of a finished run at random within each cell (group ×
   the detector's verdict; shares by the square root of the cell's size, or equal), and attaches
   their text and the messages
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
text), ``sample`` (the draw and its design), ``sheet`` (the reading page), ``paths`` (where a sample's
files go, and the defaults the CLI shows), ``estimate`` (labels → corrected rates).
"""

from __future__ import annotations

from chatlens._lazy import lazy_exports

#: public name -> "module:attr", resolved on first access (PEP 562): ``chatlens --help`` must not
#: import the audit's polars and corpus stack.
_LAZY: dict[str, str] = {
    "KEY": "chatlens.audit.signals:KEY",
    "SIGNALS": "chatlens.audit.signals:SIGNALS",
    "SignalSpec": "chatlens.audit.signals:SignalSpec",
    "parse_labels": "chatlens.audit.signals:parse_labels",
    "signal_spec": "chatlens.audit.signals:signal_spec",
    "population": "chatlens.audit.run:population",
    "AuditSample": "chatlens.audit.sample:AuditSample",
    "allocate": "chatlens.audit.sample:allocate",
    "draw_audit_sample": "chatlens.audit.sample:draw_audit_sample",
    "design_path_for": "chatlens.audit.paths:design_path_for",
    "sheet_path_for": "chatlens.audit.paths:sheet_path_for",
    "AuditEstimate": "chatlens.audit.estimate:AuditEstimate",
    "estimate_audit": "chatlens.audit.estimate:estimate_audit",
    "read_design": "chatlens.audit.estimate:read_design",
}

__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_exports("chatlens.audit", globals(), _LAZY)
