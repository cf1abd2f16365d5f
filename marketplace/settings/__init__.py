"""Settings by environment: `base` plus small `local`, `test` and `production` modules."""
