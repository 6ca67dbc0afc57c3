"""The OpenAI API: on every endpoint (`router`) and, routed by `model`, on the control
plane (`gateway`). `protocol` holds the shapes and the error body, `translation` maps
requests to prompts and decoding settings and results back, `sse` frames streams."""
