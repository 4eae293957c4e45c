"""Stage 1 — the supplied files: their schema, reading, code mapping, validation and the loaded data set.

Nothing here interprets the data: it reads ``dataset.yaml`` and the two CSV files, translates column names
and codes through an optional mapping, checks every column against :mod:`~psm.newchance.inputs.schema` and
reports every problem at once (:class:`~psm.newchance.inputs.problems.DataValidationError`).
"""
