"""The control-plane HTTP API (`springboard serve`): invocation jobs in the managed
service's REST shapes, so its own clients (boto3's `bedrock` client with `endpoint_url`)
work unchanged.

`app.create_app` builds the FastAPI app, `bedrock` holds the routes and their request
and response models, `server.serve` runs it with uvicorn. Routes only parse, call
`springboard.jobs.invocation` and render; errors go out in the service's shape (header
`x-amzn-errortype`, body `{"message": ...}`).
"""
