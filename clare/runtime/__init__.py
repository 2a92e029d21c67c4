"""One instance on one host: paths, config, logs, locks, keys, the up-state file.

Everything above the pure cores that needs to know where an instance lives and
how it is configured imports it from here."""
