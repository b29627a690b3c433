-- POST /predict on the sentiment demo model
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"text": "The battery life is great and the screen is not bad at all"}'
wrk.path = "/predict?model=sentiment"
