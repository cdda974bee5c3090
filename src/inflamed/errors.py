"""Errors that tell the user exactly what is wrong and where.

The classes are defined once, in the engine (:mod:`inflamed.stats.errors`), because the engine's
argument checks raise them too; the stages import them from here. Every problem with a user's
input is an :class:`InputError` naming the file, the row (header = row 1), the column, the bad
value and what was expected; the workflow and the command line print ``str(error)`` verbatim.
"""

from inflamed.stats.errors import ConvergenceError, InflamedError, InputError

__all__ = ["ConvergenceError", "InflamedError", "InputError"]
