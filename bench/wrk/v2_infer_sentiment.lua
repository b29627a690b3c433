-- POST /v2/models/sentiment/infer (KServe V2)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["The battery life is great and the screen is not bad at all"]}]}'
wrk.path = "/v2/models/sentiment/infer"
