"""Claude Code sessions as Clare sees them: session files, transcripts, their folders.

The modules here are pure or read files only; the poller wires them to the bus.
"""
