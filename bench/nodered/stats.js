// Every second: the cumulative counters, so the bench can count lost readings exactly.
const c = flow.get("counters") || {};
msg.topic = "peer/_stats/nodered";
msg.payload = JSON.stringify({ readings: c.readings, messages: c.messages, events: c.events, rejected: c.rejected });
return msg;
