"""Example data shipped with ``psm``.

``lalonde()`` -- the LaLonde (1986) / Dehejia-Wahba (1999) job-training data in the layout of R's
MatchIt and cobalt (data frame ``lalonde``): 614 men, 185 treated in the National Supported Work (NSW)
Demonstration and 429 comparison men from the Panel Study of Income Dynamics (PSID). The file is
``psm/datasets/data/lalonde.csv``; its provenance is in ``psm/datasets/data/README.md``.

References: LaLonde, R. (1986), Evaluating the econometric evaluations of training programs with
experimental data, *American Economic Review* 76: 604-620. Dehejia, R. H. and Wahba, S. (1999), Causal
effects in nonexperimental studies: reevaluating the evaluation of training programs, *Journal of the
American Statistical Association* 94: 1053-1062. Original files: https://users.nber.org/~rdehejia/nswdata2.html
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["lalonde"]


def lalonde() -> pd.DataFrame:
    """The LaLonde / Dehejia-Wahba NSW-PSID data (614 rows), indexed by ``id`` (``NSW1``..., ``PSID1``...).

    Columns: ``treat`` (1 = NSW trainee, 0 = PSID comparison), ``age`` (years), ``educ`` (years of
    schooling), ``race`` (``"black"``, ``"hispan"``, ``"white"``), ``married`` and ``nodegree`` (0/1;
    ``nodegree`` = no high-school diploma), ``re74``, ``re75``, ``re78`` (real earnings in 1974, 1975
    and 1978, US dollars; ``re78`` is the outcome).

    Returns
    -------
    pandas.DataFrame
        A fresh copy on every call.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> df.shape
    (614, 9)
    >>> df["treat"].value_counts().sort_index().tolist()
    [429, 185]
    >>> sorted(df["race"].unique())
    ['black', 'hispan', 'white']
    """
    path = resources.files("psm.datasets") / "data" / "lalonde.csv"
    with path.open("rb") as f:
        return pd.read_csv(f, index_col="id", dtype={"race": str})
