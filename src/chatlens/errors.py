"""One error hierarchy for chatlens.

Every error chatlens raises on purpose derives from :class:`ChatlensError`, so callers (and the
CLI) can catch one type and turn it into a clear message with a non-zero exit, never a traceback.
Messages follow one form: *what* went wrong, *which* thing (file, row, key), *what was expected*
and *what was found*. Assign the message to ``msg`` before raising (ruff rule EM)::

    ChatlensError
    ├── SourceError                 a source cannot be read
    │   ├── SourceNotFoundError     (also a FileNotFoundError) the input file does not exist
    │   ├── FormatDetectionError    no reader recognises the input
    │   ├── SchemaError             the input does not have the expected shape
    │   │   └── MissingColumnError  a required column is absent
    │   └── HubAccessError          a Hugging Face dataset is gated / token missing
    ├── InstrumentError             a lexicon / questionnaire / pattern file is invalid
    │   ├── DataFileError           a data file breaks its schema: file, key path, expected, got
    │   └── LexiconParseError       a lexicon's patterns do not compile (names the cue)
    ├── LLMError                    an LLM call failed for good
    │   ├── LLMTimeout
    │   ├── RateLimited
    │   └── BadLLMResponse
    ├── StageError                  a pipeline stage broke the stage contract (may only add columns)
    ├── PartitionError              one partition failed on a worker; names the partition
    ├── IncompleteRunError          a run directory whose run failed or was killed (still marked)
    ├── RunDirectoryError           (also an OSError) a run directory cannot be written (disk full)
    ├── AccountingError             rows in ≠ analysed + quarantined: a chatlens bug, never accepted
    ├── ProvenanceError             an artefact's recorded origin does not match what produced it
    ├── NotFittedError              a learned component used before ``fit``
    ├── InvalidParameterError       (also a ValueError) a bad argument at the public boundary
    └── MissingExtraError           (also an ImportError) an optional extra is not installed

Warnings (ran, but beware): :class:`SmallSampleWarning`, :class:`DegenerateVarianceWarning`.
"""

from __future__ import annotations


class ChatlensError(Exception):
    """Root of every error chatlens raises on purpose."""


class SourceError(ChatlensError):
    """A source (file, directory, glob, hub dataset) cannot be read."""


class SourceNotFoundError(SourceError, FileNotFoundError):
    """An input file does not exist (or is not a file); the message names it."""


class FormatDetectionError(SourceError):
    """No reader recognises the input; pass ``format=`` explicitly."""


class SchemaError(SourceError):
    """The input does not have the shape its format requires."""


class MissingColumnError(SchemaError):
    """A column the format or the column mapping requires is absent."""


class HubAccessError(SourceError):
    """A Hugging Face dataset cannot be reached (gated without a token, offline, unknown id)."""


class InstrumentError(ChatlensError):
    """A bundled or user data file (lexicon, questionnaire, price table) is invalid."""


class DataFileError(InstrumentError):
    """A data file does not match the schema of its kind (see :mod:`chatlens.datafiles`).

    Every data file problem is reported in one form, naming the file, the key path inside it
    (``cues[3].regex[0]``), what was expected and what was found.
    """

    def __init__(self, file: str, key: str, expected: str, got: object) -> None:
        shown = repr(got)
        if len(shown) > 200:
            shown = shown[:197] + "..."
        msg = f"Invalid data file {file}: key {key!r}: expected {expected}. Got {shown} instead."
        super().__init__(msg)
        self.file, self.key, self.expected, self.got = file, key, expected, got

    def __reduce__(self) -> tuple[object, ...]:  # picklable across engine worker processes
        return (DataFileError, (self.file, self.key, self.expected, self.got))


class LexiconParseError(InstrumentError):
    """A lexicon's patterns cannot be compiled together; the message names the cue."""


class LLMError(ChatlensError):
    """An LLM request failed after its retries."""


class LLMTimeout(LLMError):
    """The server did not answer within the configured timeout."""


class RateLimited(LLMError):
    """The server kept answering 429 after the configured retries."""


class BadLLMResponse(LLMError):
    """The answer could not be parsed or validated after the bounded re-asks."""


class StageError(ChatlensError):
    """A stage cannot be loaded or broke the contract: it may only *add* columns, row for row."""


class PartitionError(ChatlensError):
    """A partition failed (reader error, stage error, worker lost); the message names it."""

    def __init__(self, message: str, *, partition: int | None = None) -> None:
        super().__init__(message)
        self.partition = partition

    def __reduce__(self) -> tuple[object, ...]:  # picklable across processes / Dask workers
        return (_rebuild_partition_error, (str(self), self.partition))


def _rebuild_partition_error(message: str, partition: int | None) -> PartitionError:
    return PartitionError(message, partition=partition)


class IncompleteRunError(ChatlensError):
    """A run directory still carries the marker of a run that failed or was killed.

    Its files may mix an old run's report with a new run's tables, so readers refuse it (see
    :mod:`chatlens.engine.rundir`).
    """


class RunDirectoryError(ChatlensError, OSError):
    """A run directory could not be written (disk full, read-only, over quota); the message names
    it and whether it is marked incomplete (see :mod:`chatlens.engine.rundir`)."""


class AccountingError(ChatlensError):
    """Rows read do not add up to rows analysed + quarantined (or to the rows written).

    Why an error and not a warning: the counts are taken independently (rows as they are read,
    conversations and quarantine rows as they are emitted, rows in the written files), so a
    mismatch means chatlens lost or invented rows, a bug to report, never a result to keep.
    """


class ProvenanceError(ChatlensError):
    """An artefact (pairs, checkpoint, evaluation file) does not match its recorded provenance:
    its bytes changed, or it names a checkpoint whose weights are not the ones that produced it."""


class NotFittedError(ChatlensError, ValueError):
    """A learned component was used before ``fit`` was called."""


class InvalidParameterError(ChatlensError, ValueError):
    """A public function received an argument outside its documented range or choices."""


class MissingExtraError(ChatlensError, ImportError):
    """An optional extra (``chatlens[ml]``, ``chatlens[train]``, ``chatlens[dask]``) is needed."""

    def __init__(self, extra: str, feature: str) -> None:
        msg = (
            f"{feature} needs the optional extra '{extra}'. "
            f"Install it with: pip install 'chatlens[{extra}]'"
        )
        super().__init__(msg)
        self.extra = extra


class SmallSampleWarning(UserWarning):
    """An estimate was computed from very few observations; read its CI, not its point value."""


class DegenerateVarianceWarning(UserWarning):
    """A statistic had zero variance (all values equal); tests and CIs are degenerate."""


__all__ = [
    "AccountingError",
    "BadLLMResponse",
    "ChatlensError",
    "DataFileError",
    "DegenerateVarianceWarning",
    "FormatDetectionError",
    "HubAccessError",
    "IncompleteRunError",
    "InstrumentError",
    "InvalidParameterError",
    "LLMError",
    "LLMTimeout",
    "LexiconParseError",
    "MissingColumnError",
    "MissingExtraError",
    "NotFittedError",
    "PartitionError",
    "ProvenanceError",
    "RateLimited",
    "RunDirectoryError",
    "SchemaError",
    "SmallSampleWarning",
    "SourceError",
    "SourceNotFoundError",
    "StageError",
]
