// msg.payload: one reading {session, metric, value, t, seq} or an array of them.
// Out: one message per alarm event, topic <root>/<session>/alarms, payload JSON.
const engine = context.get("engine");
const counters = flow.get("counters");
const readings = Array.isArray(msg.payload) ? msg.payload : [msg.payload];
counters.messages += 1;
const out = [];
for (const r of readings) {
    const rules = r ? engine.byMetric.get(r.metric) : undefined;
    if (rules === undefined || typeof r.value !== "number" || typeof r.t !== "number"
        || typeof r.session !== "string") {
        counters.rejected += 1;
        continue;
    }
    counters.readings += 1;
    let state = engine.sessions.get(r.session);
    if (state === undefined) {
        state = { active: new Array(engine.ruleCount).fill(false), since: new Array(engine.ruleCount).fill(null) };
        engine.sessions.set(r.session, state);
    }
    for (const rule of rules) {
        const i = rule.slot;
        if (state.active[i]) {
            // active: clear immediately once back 5 units inside the limit
            if (rule.above ? r.value <= rule.reset : r.value >= rule.reset) {
                const onset = state.since[i];
                state.active[i] = false;
                state.since[i] = null;
                out.push(alarm("cleared", rule, r, onset));
            }
            continue;
        }
        if (!(rule.above ? r.value > rule.limit : r.value < rule.limit)) {
            state.since[i] = null;          // any non-violating reading resets the pending condition
            continue;
        }
        if (state.since[i] === null) { state.since[i] = r.t; }
        if (r.t - state.since[i] >= engine.delay) {   // reading time, inclusive
            state.active[i] = true;
            out.push(alarm("raised", rule, r, state.since[i]));
        }
    }
}
if (out.length === 0) { return null; }
counters.events += out.length;
return [out];

function alarm(state, rule, r, onset) {
    return {
        topic: "peer/" + r.session + "/alarms",
        payload: JSON.stringify({
            session: r.session, rule: rule.id, state: state, priority: rule.priority,
            metric: r.metric, value: r.value, threshold: rule.limit, seq: r.seq, t: r.t,
            onset_t: onset, t_emit: Date.now() / 1000
        })
    };
}
