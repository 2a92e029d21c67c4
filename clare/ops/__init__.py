"""Running Clare on a host: systemd units, health checks, the generated CLI reference."""
