"""Stage 3 — the evaluation's analyses: the matching specification and its runs, the tables in the
published layout, the treated-group descriptives, reoffending comparisons, the specification grid and the
robustness analyses."""
