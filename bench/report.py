"""Markdown summary of the latest result of every benchmark in `bench/results/`."""
# ruff: noqa: E501 - markdown table rows read better whole, one per line

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any


def _f(x: Any, fmt: str = "{:,.0f}") -> str:  # noqa: ANN401 - any figure
    return "n/a" if x is None else fmt.format(x)


def _spread(xs: list[Any], fmt: str = "{:,.0f}") -> str:
    vals = [x for x in xs if x is not None]
    if not vals:
        return "n/a"
    med = statistics.median(vals)
    if len(vals) == 1:
        return _f(med, fmt)
    return f"{_f(med, fmt)} [{_f(min(vals), fmt)}-{_f(max(vals), fmt)}]"


def _ratio(a: Any, b: Any, fmt: str = "{:.2f}") -> str:  # noqa: ANN401
    return "n/a" if not a or not b else fmt.format(a / b)


def throughput_section(r: dict[str, Any]) -> list[str]:
    out = [
        "### Max sustained throughput, readings/s (none lost, every alarm, p99 ≤ 1 s, drain ≤ 2 s)",
        "",
        "`vigil-alarms`: the processor's alarm role, judging every reading and storing only alarm",
        "events (like for like: the Node-RED flow stores nothing). `vigil`: the default role, which",
        "also stores every reading in InfluxDB on the same two cores.",
        "",
        "| mode | Node-RED | vigil-alarms | vigil-alarms / Node-RED | vigil | vigil / Node-RED | sink ceiling |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode, data in r.items():
        s = data["systems"]
        nr, va, vg = s.get("nodered", {}), s.get("vigil-alarms", {}), s.get("vigil", {})
        ceil = data["ceiling"]["median"]
        out.append(
            f"| {mode} | {_spread(nr.get('max_sustained', []))} "
            f"| {_spread(va.get('max_sustained', []))} | {_ratio(va.get('median'), nr.get('median'))} "
            f"| {_spread(vg.get('max_sustained', []))} | {_ratio(vg.get('median'), nr.get('median'))} "
            f"| {_f(ceil)} |"
        )
    out.append("")
    out.append("CPU at the highest passing step (% of one core; median over repetitions):")
    out.append("")
    out.append(
        "| mode | system | system CPU | InfluxDB CPU | broker CPU | generator CPU | others on the box | stolen by the hypervisor |"
    )
    out.append("|---|---|---|---|---|---|---|---|")
    for mode, data in r.items():
        for name, v in data["systems"].items():
            top = [
                st for st in v["steps"]
                if st["passed"] and st["offered_rate"] == (v["max_sustained"][st["rep"] - 1])
            ]  # fmt: skip
            col = lambda k, top=top: _spread([st["cpu"].get(k) for st in top])  # noqa: E731
            out.append(
                f"| {mode} | {name} | {col('system')} | {col('influxdb')} | {col('broker')} "
                f"| {col('generator')} | {col('others')} | {col('steal')} |"
            )
    return [*out, ""]


def latency_section(title: str, r: dict[str, Any]) -> list[str]:
    out = [
        f"### {title}",
        "",
        "| mode | system | p50 ms | p99 ms | raises/run | complete | p99 / Node-RED | p99 / forwarder |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode, systems in r.items():
        nr = systems.get("nodered", {}).get("p99_ms")
        fw = systems.get("forwarder", {}).get("p99_ms")
        for name, v in systems.items():
            runs = v["runs"]
            out.append(
                f"| {mode} | {name} | {_spread([x['p50_ms'] for x in runs], '{:.2f}')} "
                f"| {_spread([x['p99_ms'] for x in runs], '{:.2f}')} "
                f"| {_spread([x['n_raised'] for x in runs])} | {'yes' if v['complete'] else 'NO'} "
                f"| {_ratio(v['p99_ms'], nr)} | {_ratio(v['p99_ms'], fw)} |"
            )
    return [*out, ""]


def correctness_section(r: dict[str, Any]) -> list[str]:
    out = [
        "### Correctness (persistence 10 s, scripted sessions, exact event sets)",
        "",
        "| mode | system | expected | received | missing | unexpected | duplicates | pass |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode, systems in r.items():
        for name, v in systems.items():
            out.append(
                f"| {mode} | {name} | {v['expected']} | {v['received']} | {v['missing']} "
                f"| {v['unexpected']} | {v['duplicates']} | {'yes' if v['all_pass'] else 'NO'} |"
            )
    return [*out, ""]


def engine_section(r: dict[str, Any]) -> list[str]:
    med, ratios = r["median_readings_per_s"], r["ratios"]
    out = [
        "### Engine core in process (one core, pinned)",
        "",
        f"| path | readings/s (median of {r['repeats']}) |",
        "|---|---|",
    ]
    out += [f"| {k} | {_f(v)} |" for k, v in med.items()]
    out += ["", "| ratio | value |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in ratios.items()]
    met = "met" if r["target"]["met"] else "NOT met"
    return [*out, "", f"Target ≥ 300,000 readings/s batched: **{met}**.", ""]


def storage_section(r: dict[str, Any]) -> list[str]:
    mem = r.get("memory_bytes_per_session_median", {})
    met = "met" if r["target"]["met"] else "NOT met"
    return [
        "### End to end with InfluxDB storage on",
        "",
        "| figure | value |",
        "|---|---|",
        f"| max stored readings/s, batched, none lost (median [min-max]) | {_spread(r['max_stored_readings_per_s'])} |",
        f"| direct InfluxDB write ceiling, points/s (same run) | {_spread([d['points_per_s'] for d in r['direct_ceiling']])} |",
        f"| stored / direct ceiling | {r['ratio_stored_to_direct']} |",
        f"| memory per active session, Vigil, bytes | {_f(mem.get('vigil'))} |",
        f"| memory per active session, Node-RED, bytes (baseline) | {_f(mem.get('nodered'))} |",
        f"| Vigil / Node-RED memory per session | {_ratio(mem.get('vigil'), mem.get('nodered'))} |",
        "",
        f"Target ≥ 50,000 stored readings/s: **{met}**.",
        "",
    ]  # fmt: skip


def gateway_section(r: dict[str, Any]) -> list[str]:
    m, ratios = r["median"], r["ratios"]
    return [
        "### Gateway (record() -> PUBACK, real Publisher, nodelay broker)",
        "",
        "| figure | gateway | raw-socket baseline | ratio |",
        "|---|---|---|---|",
        f"| acknowledged readings/s | {_f(m['gateway_acked_readings_per_s'])} | {_f(m['raw_acked_per_s'])} | {ratios['gateway / raw throughput']} |",
        f"| publishes/s | {_f(m['gateway_publishes_per_s'])} | - | - |",
        f"| notification -> PUBACK p50 ms ({r['latency']}) | {m['gateway_p50_ms']} | {m['raw_p50_ms']} | - |",
        f"| notification -> PUBACK p99 ms | {m['gateway_p99_ms']} | {m['raw_p99_ms']} | {ratios['gateway / raw p99']} |",
        "",
    ]  # fmt: skip


def hub_section(r: dict[str, Any]) -> list[str]:
    m = r["median"]
    met = "met" if r["target"]["met"] else "NOT met"
    miss = sum(x["missing"] for x in r["runs"]["hub"])
    return [
        f"### Hub fan-out: {r['what']}",
        "",
        "| system | p50 ms | p99 ms | missing deliveries |",
        "|---|---|---|---|",
        f"| vigil hub | {_spread([x['p50_ms'] for x in r['runs']['hub']], '{:.2f}')} | {_spread([x['p99_ms'] for x in r['runs']['hub']], '{:.2f}')} | {miss} |",
        f"| raw websockets broadcast (baseline) | {_spread([x['p50_ms'] for x in r['runs']['broadcast']], '{:.2f}')} | {_spread([x['p99_ms'] for x in r['runs']['broadcast']], '{:.2f}')} | {sum(x['missing'] for x in r['runs']['broadcast'])} |",
        "",
        f"hub / baseline p99: {r['ratios']['hub / broadcast p99']}; target p99 ≤ 10 ms: **{met}** (median {m['hub_p99_ms']} ms).",
        "",
    ]


SECTION_ORDER = (
    "throughput",
    "throughput-nodelay",
    "latency",
    "latency-nodelay",
    "correctness",
    "engine",
    "storage",
    "gateway",
    "hub",
    "e2e",
)


def _section(name: str, r: dict[str, Any]) -> list[str]:
    if name in ("latency", "latency-nodelay"):
        broker = "set_tcp_nodelay true" if name == "latency-nodelay" else "Nagle on (default)"
        title = f"Alarm latency, send -> receipt, 1,000 sessions x 1 reading/s, broker {broker}"
        return latency_section(title, r)
    if name == "e2e":
        from bench.e2e import summary_lines  # noqa: PLC0415

        return summary_lines(r)
    if name == "hub":
        return hub_section(r)
    if name == "throughput-nodelay":
        return [
            "Broker variant `set_tcp_nodelay true`, one repetition.",
            "",
            *throughput_section(r),
        ]
    sections = {
        "throughput": throughput_section,
        "throughput-nodelay": throughput_section,
        "correctness": correctness_section,
        "engine": engine_section,
        "storage": storage_section,
        "gateway": gateway_section,
    }
    return sections[name](r) if name in sections else []


def summary(results_dir: Path) -> str:
    out = [
        "# Benchmark summary",
        "",
        "Generated by `scripts/bench`; method in docs/benchmarks.md.",
        "",
    ]
    order = [*SECTION_ORDER, "smoke"]
    paths = sorted(
        results_dir.glob("*.json"),
        key=lambda p: order.index(p.stem) if p.stem in order else len(order),
    )
    for path in paths:
        doc = json.loads(path.read_text())
        meta = doc["meta"]
        out.append(f"## {doc['name']} — {meta['when']} ({meta['seconds']:.0f} s)")
        out.append("")
        out += _section(doc["name"], doc["result"])
        if doc.get("notes"):
            out += [f"Notes: {'; '.join(doc['notes'])}", ""]
    return "\n".join(out)
