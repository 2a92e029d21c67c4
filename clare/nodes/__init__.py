"""The long-running processes of one host, each a thin trio shell around a core."""
