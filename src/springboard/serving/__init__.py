"""Serving: the endpoint server process, request batching, and endpoint lifecycle.

`endpoints` deploys, lists and deletes endpoints (each its own server process, recorded
in the store); `server` is that process; `app` its HTTP routes; `batcher` merges
concurrent requests into batched forward passes of the one Generator.
"""
