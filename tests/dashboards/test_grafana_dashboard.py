"""The Grafana dashboard's Flux queries run against a real InfluxDB 2.7 and find the data."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync

from alerts.hub.audit import AuditRecord, audit_line
from monitor.storage.influx import InfluxSettings, InfluxWriter
from monitor.storage.points import batch_lines
from vigil.wire import Reading, ReadingBatch

pytestmark = pytest.mark.integration

DASHBOARD = Path(__file__).parents[2] / "dashboards" / "grafana" / "vigil-vitals.json"


def flux(query: str, bucket: str) -> str:
    """What Grafana substitutes before sending a panel's query."""
    return (
        query.replace("${bucket}", bucket)
        .replace("${session:regex}", ".*")
        .replace("v.timeRangeStart", "-1h")
        .replace("v.timeRangeStop", "now()")
        .replace("v.windowPeriod", "1m")
    )


async def test_every_panel_query_runs_and_the_vitals_panels_find_readings(influxdb, mqtt_root):
    dashboard = json.loads(DASHBOARD.read_text())
    session = f"S-{mqtt_root}"
    now = time.time() - 5
    batch = ReadingBatch(
        gateway="gw-1",
        session=session,
        device="ox-1",
        kind="pulse_oximeter",
        readings=[
            Reading(
                seq=1,
                t=now,
                values={
                    "spo2": 95.0,
                    "pr": 70.0,
                    "hr": 71.0,
                    "sbp": 130.0,
                    "dbp": 80.0,
                    "map": 97.0,
                },
            )
        ],
    )
    writer = InfluxWriter(
        InfluxSettings(
            url=influxdb.url, org=influxdb.org, bucket=influxdb.bucket, token=influxdb.token
        )
    )
    await writer.write(
        [
            *batch_lines(batch),
            audit_line(
                AuditRecord(action="acknowledge", by="dr-a", t=now, session=session, alarm_id="a")
            ),
        ]
    )
    await writer.close()
    rows: dict[str, int] = {}
    async with InfluxDBClientAsync(
        url=influxdb.url, token=influxdb.token, org=influxdb.org
    ) as client:
        for panel in dashboard["panels"]:
            tables = await client.query_api().query(
                flux(panel["targets"][0]["query"], influxdb.bucket)
            )
            rows[panel["title"]] = sum(len(t.records) for t in tables)
        variable = next(v for v in dashboard["templating"]["list"] if v["name"] == "session")
        sessions = await client.query_api().query(flux(variable["query"], influxdb.bucket))
    assert rows["Heart rate / pulse rate (bpm)"] >= 2
    assert rows["SpO2 (%)"] >= 1
    assert rows["Blood pressure (mmHg)"] >= 3
    assert rows["Audit trail (acknowledgements, escalations, notes)"] >= 1
    assert "Alarm events" in rows  # ran without error (the processor writes alarm_events)
    assert session in {r.get_value() for t in sessions for r in t.records}
