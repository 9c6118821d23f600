// Runs once when the flow starts (the function node's "On Start").
// The Node-RED-compatible rule set, as data: limit, direction, priority; reset is 5 units
// inside the limit. Persistence delay in seconds of reading time comes from env DELAY_S.
const HYSTERESIS = 5;
const RULES = [
    { id: "hr_high",  metric: "hr",   above: true,  limit: 120, priority: "high" },
    { id: "hr_low",   metric: "hr",   above: false, limit: 45,  priority: "high" },
    { id: "spo2_low", metric: "spo2", above: false, limit: 90,  priority: "high" },
    { id: "sbp_high", metric: "sbp",  above: true,  limit: 180, priority: "high" },
    { id: "dbp_high", metric: "dbp",  above: true,  limit: 110, priority: "high" },
    { id: "sbp_elev", metric: "sbp",  above: true,  limit: 160, priority: "medium" }
];
const byMetric = new Map();
RULES.forEach((rule, slot) => {
    rule.slot = slot;
    rule.reset = rule.above ? rule.limit - HYSTERESIS : rule.limit + HYSTERESIS;
    if (!byMetric.has(rule.metric)) { byMetric.set(rule.metric, []); }
    byMetric.get(rule.metric).push(rule);
});
const delay = Number(env.get("DELAY_S") || 0);
// sessions: session id -> per-rule state, [active, since] per rule slot, in memory
context.set("engine", { byMetric, delay, ruleCount: RULES.length, sessions: new Map() });
flow.set("counters", { messages: 0, readings: 0, events: 0, rejected: 0 });
node.status({ text: "delay_s=" + delay });
