"""The message bus between the processes of one host: ZeroMQ, msgpack envelopes."""
