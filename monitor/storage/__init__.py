"""Where readings and alarm decisions become InfluxDB points (schema: docs/storage.md)."""
