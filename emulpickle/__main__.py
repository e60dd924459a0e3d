"""Allow ``python -m emulpickle``."""

from emulpickle.cli import main

raise SystemExit(main())
