"""``python -m pytrigger`` runs the command line."""

from pytrigger.cli import main

raise SystemExit(main())
