"""Reports: HTML pages and figures built from a run's summary (never from raw text unescaped)."""
