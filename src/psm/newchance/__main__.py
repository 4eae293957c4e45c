"""``python -m psm.newchance`` — see :mod:`psm.newchance.cli`."""

from psm.newchance.cli import main

raise SystemExit(main())
