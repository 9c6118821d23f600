"""The home gateway: BLE notifications in, acknowledged MQTT publishes out, nothing lost.

Pure parts: `observations` (decoded measurement -> reading values and quality flags),
`backoff` (reconnect policy), `config` (typed settings). Edges: `outbox` (SQLite, durable),
`publisher` (aiomqtt), `link` (one BLE device through bleak), `app` (the process).
"""
