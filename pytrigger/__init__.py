"""pytrigger: a privacy-first micro-moment trigger engine (filled in below)."""
