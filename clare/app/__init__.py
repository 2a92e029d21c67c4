"""The services every shell calls: the CLI, the web page, the hooks and the nodes.

Shells parse input and print output; what a command means lives here, once.
"""
