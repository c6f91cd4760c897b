"""The official OpenAI Python client, unchanged, against `clif serve`: only base_url points at Clif.

Usage: CLIF_URL=http://127.0.0.1:7860 python images_generate.py   (one JSON line; exit 0 when both images are PNGs)
"""
import base64
import json
import os
import sys

import openai
from openai import OpenAI

client = OpenAI(base_url=os.environ.get("CLIF_URL", "http://127.0.0.1:7860") + "/v1", api_key="unused-by-clif", max_retries=0, timeout=120)
ids = [m.id for m in client.models.list().data]
result = client.images.generate(model="base", prompt="a red circle", n=2, size="32x32", response_format="b64_json")
pngs = [base64.b64decode(d.b64_json) for d in result.data]
error = None
try:
    client.images.generate(model="base", prompt="x", size="33x33")
except openai.BadRequestError as e:
    error = {"status": e.status_code, "param": e.param, "code": e.code, "message": e.message}
ok = len(pngs) == 2 and all(p[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs) and "base" in ids and error and error["param"] == "size"
print(json.dumps({"ok": bool(ok), "openai": openai.__version__, "models": ids, "images": len(pngs), "error": error}))
sys.exit(0 if ok else 1)
