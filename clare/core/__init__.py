"""The bottom layer: errors, the hybrid logical clock, ids, the stored-event record."""
