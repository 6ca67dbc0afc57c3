"""The baseline a user would write by hand: FastAPI + `model.generate`, one request at a time.

    python benchmarks/naive_server.py MODEL_DIR [--host 127.0.0.1] [--port 8080]

Loads MODEL_DIR with transformers and answers `POST /invocations` with the same request
shape as a Springboard text-generation endpoint (`{"inputs": str, "parameters":
{"max_new_tokens": 32, ...}}` -> `[{"generated_text": ...}]`), calling `model.generate`
once per request under a lock (no batching), greedy. It reports the generated token
count in the `X-Springboard-Output-Tokens` header, as Springboard does, so one load
generator drives both. `GET /ping` answers once the model is loaded. Loopback only.
It is served the plain way, `uvicorn.run(app, host=..., port=...)`.
"""

import argparse
import os
import sys
import threading

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def build_app(model_dir: str):
    import torch
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True).eval()
    eos = model.generation_config.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(eos_ids)
    lock = threading.Lock()
    app = FastAPI(title="naive baseline")

    @app.get("/ping")
    def ping() -> JSONResponse:
        return JSONResponse({"status": "Healthy"})

    @app.post("/invocations")
    async def invocations(request: Request) -> JSONResponse:
        payload = await request.json()
        params = payload.get("parameters") or {}
        max_new = int(params.get("max_new_tokens", 32))
        encoded = tokenizer(payload["inputs"], return_tensors="pt")
        # Blocking the event loop is exactly what the hand-written version does; the lock
        # only documents that one generate call runs at a time.
        with lock, torch.inference_mode():
            output = model.generate(**encoded, max_new_tokens=max_new, do_sample=False,
                                    pad_token_id=pad_id)
        ids = output[0, encoded["input_ids"].shape[1]:].tolist()
        count = len(ids)
        for pos, token in enumerate(ids):
            if token in eos_ids:
                ids, count = ids[:pos], pos + 1
                break
        text = tokenizer.decode(ids, skip_special_tokens=True)
        return JSONResponse([{"generated_text": text}],
                            headers={"X-Springboard-Output-Tokens": str(count)})

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="naive one-request-at-a-time baseline server")
    parser.add_argument("model_dir")
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost"])
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)

    import uvicorn

    uvicorn.run(build_app(args.model_dir), host=args.host, port=args.port,
                log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
