"""Public contract: ``observatory.classification.classify_operators`` (and the rest of the operator
classification API) stays importable under this name.

The classification is a SIRENE domain rule and lives in :mod:`assets.sirene.classification` (rules
data in ``assets/sirene/reference/``); this module only re-exports its ``__all__``. It is, with
``observatory/definitions.py``, the one module of the framework that imports ``assets``: a documented
shim for a public import path, holding no logic. New public names (e.g. ``eaje_scope``) are added to
``assets.sirene.classification.__all__`` and appear here without change.
"""

from assets.sirene import classification as _impl
from assets.sirene.classification import *  # noqa: F403 (the re-export is the point)

__all__ = list(_impl.__all__)
