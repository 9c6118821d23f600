// The clinicians' live dashboard: state from the hub's snapshot and events, rendered as a
// session grid and an alarm feed. Text from the wire is only ever set as text (no innerHTML).

import { AlarmSound } from "./audio.js";
import { HubConnection, forgetToken, login, storedToken } from "./connection.js";
import { WINDOW_S, sparkline } from "./sparkline.js";

const RANK = { high: 3, medium: 2, low: 1 };
const STALE_S = 60;
const FEED_MAX = 200;
const ONE_OFF = new Set(["advisory", "delivery_failure"]);
const ANNOUNCED_KINDS = new Set(["raised", "condition_returned", "ack_expired", "escalated", "advisory"]);
const COMMAND_LABEL = { ack: "Acknowledgement", audio_pause: "Audio pause", escalate: "Escalation", note: "Note" };
// The engine's reasons for refusing a command (docs/websocket.md, command_result), in plain
// words; a reason not listed here (a newer engine's) is shown as it came.
const REFUSAL_REASON = {
  unknown_alarm: "the alarm system does not know this alarm",
  already_resolved: "the alarm is already resolved",
  already_acknowledged: "the alarm is already acknowledged (its sound is already off)",
  invalid_duration: "the pause duration is not valid",
};
// After these, "not acknowledged" would be wrong or beside the point.
const ACK_REFUSALS_WITHOUT_WARNING = new Set(["already_resolved", "already_acknowledged"]);

const state = {
  user: null, role: null, clockOffsetS: 0, upstream: true,
  sessions: new Map(), alarms: new Map(), feed: [], seenSent: new Set(),
};
const sound = new AlarmSound();
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const nowS = () => Date.now() / 1000 + state.clockOffsetS;
const fmtTime = (t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false });
const fmtNum = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(0));

function fmtAge(seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  return `${(seconds / 3600).toFixed(1)} h ago`;
}

function fmtElapsed(seconds) {
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

// ------------------------------------------------------------------ alarm state
function priorityOf(alarm) {
  return alarm.state?.priority ?? alarm.event?.priority ?? "low";
}

function isAcknowledged(alarm) {
  // The hub's receipt says "acknowledged" as soon as the ack is sent; the engine may refuse it.
  const byHub = alarm.delivery?.acknowledged_by && !alarm.ackRefused;
  return Boolean(alarm.state?.acknowledged_by || alarm.state?.state === "acknowledged" || byHub);
}

function pausedUntil(alarm) {
  const engine = alarm.state && /pause/.test(alarm.state.state) ? alarm.state.until ?? 0 : 0;
  return Math.max(alarm.pausedUntil ?? 0, engine);
}

function sounding(alarm) {
  return !isAcknowledged(alarm) && pausedUntil(alarm) <= nowS();
}

function stateText(alarm) {
  const s = alarm.state;
  if (s?.acknowledged_by) return `${s.state} by ${s.acknowledged_by}`;
  if (s) return s.state;
  if (alarm.delivery?.acknowledged_by && !alarm.ackRefused) return `acknowledged by ${alarm.delivery.acknowledged_by} (awaiting engine)`;
  return alarm.event?.kind ?? "active";
}

function refusalText(msg) {
  const label = COMMAND_LABEL[msg.command] ?? msg.command;
  const reason = REFUSAL_REASON[msg.reason] ?? msg.reason ?? "no reason given";
  const warning = msg.command === "ack" && !ACK_REFUSALS_WITHOUT_WARNING.has(msg.reason) ? " — the alarm is NOT acknowledged" : "";
  return `${label} refused: ${reason}${warning}`;
}

function highestAlarm(session) {
  let best = null;
  for (const alarm of state.alarms.values()) {
    if (alarm.session !== session) continue;
    if (!best || RANK[priorityOf(alarm)] > RANK[priorityOf(best)]) best = alarm;
  }
  return best;
}

// ------------------------------------------------------------------ messages
function applySnapshot(msg) {
  state.user = msg.user;
  state.role = msg.role;
  state.clockOffsetS = msg.server_time - Date.now() / 1000;
  state.upstream = msg.upstream.mqtt;
  state.sessions = new Map(msg.sessions.map((s) => [s.session, s]));
  // A refusal is not an event the snapshot can carry: keep what this page was told.
  const before = state.alarms;
  state.alarms = new Map(msg.alarms.map((a) => {
    const { refusal, ackRefused } = before.get(a.alarm_id) ?? {};
    return [a.alarm_id, { ...a, refusal, ackRefused }];
  }));
  state.feed = [];
  for (const entry of msg.feed) addFeed(entry, false);
  $("who").textContent = `${msg.user} (${msg.role})`;
}

function session(id) {
  if (!state.sessions.has(id)) {
    state.sessions.set(id, { session: id, descriptor: null, devices: [], gateways: [], vitals: {}, history: {} });
  }
  return state.sessions.get(id);
}

function addFeed(msg, announce) {
  state.feed.unshift(msg);
  state.feed.length = Math.min(state.feed.length, FEED_MAX);
  if (!announce) return;
  const text = feedText(msg);
  const urgent = msg.type === "escalation" || msg.type === "delivery_failure" || msg.type === "command_result"
    || (msg.type === "alarm_event" && msg.event.priority === "high");
  const wanted = msg.type !== "alarm_event" || ANNOUNCED_KINDS.has(msg.event.kind);
  if (wanted) $(urgent ? "announce-assertive" : "announce-polite").textContent = text;
}

function feedText(msg, withPriority = true) {
  switch (msg.type) {
    case "alarm_event": {
      const kind = msg.event.kind.replaceAll("_", " ");
      return withPriority ? `${msg.event.priority.toUpperCase()} ${kind}: ${msg.event.message}` : `${kind}: ${msg.event.message}`;
    }
    case "escalation": return `ESCALATED (level ${msg.level}): ${msg.message}`;
    case "note": return `Note by ${msg.by} on ${msg.alarm_id}: ${msg.text}`;
    case "audio_pause": return `Audio paused by ${msg.by} for ${Math.round(msg.duration_s)} s: ${msg.alarm_id}`;
    case "delivery_failure": return `DELIVERY FAILURE: ${msg.message}`;
    case "command_result": return `${refusalText(msg)} (${msg.alarm_id})`;
    default: return msg.type;
  }
}

function onMessage(msg) {
  switch (msg.type) {
    case "snapshot": applySnapshot(msg); break;
    case "resumed": state.clockOffsetS = msg.server_time - Date.now() / 1000; state.upstream = msg.upstream.mqtt; break;
    case "alarm_event": {
      const ev = msg.event;
      if (ev.kind === "resolved") state.alarms.delete(ev.alarm_id);
      else if (!ONE_OFF.has(ev.kind)) {
        const alarm = state.alarms.get(ev.alarm_id) ?? { alarm_id: ev.alarm_id, session: ev.session, state: null, delivery: null };
        alarm.event = ev;
        state.alarms.set(ev.alarm_id, alarm);
      }
      addFeed(msg, true);
      break;
    }
    case "alarm_state":
      if (msg.state === null) state.alarms.delete(msg.alarm_id);
      else {
        const alarm = state.alarms.get(msg.alarm_id) ?? { alarm_id: msg.alarm_id, session: msg.session, event: null };
        Object.assign(alarm, { state: msg.state, delivery: msg.delivery });
        state.alarms.set(msg.alarm_id, alarm);
      }
      break;
    case "receipt": {
      const alarm = state.alarms.get(msg.alarm_id);
      if (alarm) alarm.delivery = msg.delivery;
      break;
    }
    case "escalation": {
      const alarm = state.alarms.get(msg.alarm_id);
      if (alarm) alarm.delivery = { ...(alarm.delivery ?? {}), level: msg.level };
      addFeed(msg, true);
      break;
    }
    case "audio_pause": {
      const alarm = state.alarms.get(msg.alarm_id);
      if (alarm) alarm.pausedUntil = msg.until;
      addFeed(msg, false);
      break;
    }
    case "note": addFeed(msg, false); break;
    case "delivery_failure": addFeed(msg, true); break;
    case "command_result": onCommandResult(msg); break;
    case "session":
      if (msg.descriptor === null) {
        state.sessions.delete(msg.session);
        for (const [id, a] of state.alarms) if (a.session === msg.session) state.alarms.delete(id);
      } else session(msg.session).descriptor = msg.descriptor;
      break;
    case "device_status": {
      const s = session(msg.session);
      s.devices = s.devices.filter((d) => d.device !== msg.device_id);
      if (msg.device) s.devices.push({ ...msg.device, contact: null });
      break;
    }
    case "gateway_status":
      for (const id of msg.sessions) {
        const s = session(id);
        s.gateways = s.gateways.filter((g) => g.gateway !== msg.gateway_id);
        if (msg.gateway) s.gateways.push(msg.gateway);
      }
      break;
    case "vitals": {
      const s = session(msg.session);
      s.vitals = msg.values;
      for (const [metric, sample] of Object.entries(msg.values)) {
        const points = (s.history[metric] ??= []);
        if (!points.length || points[points.length - 1][0] < sample.t) points.push([sample.t, sample.value]);
        while (points.length && points[0][0] < sample.t - WINDOW_S) points.shift();
      }
      for (const d of s.devices) if (d.device in msg.contact) d.contact = msg.contact[d.device];
      renderGrid();
      return;
    }
    case "upstream": state.upstream = msg.mqtt === "connected"; renderBanner(); return;
    case "token": return;
    case "ok": case "error": return;
    default: return;
  }
  renderAll();
}

// The engine's answer to a command: a refusal is shown on the alarm (while it is listed), in the
// feed, and announced; an acceptance only confirms quietly, its events follow anyway.
function onCommandResult(msg) {
  const label = COMMAND_LABEL[msg.command] ?? msg.command;
  if (msg.accepted) {
    showToast(`${label} confirmed by the alarm system`);
    return;
  }
  const alarm = state.alarms.get(msg.alarm_id);
  if (alarm) {
    alarm.refusal = `${fmtTime(msg.t)} ${refusalText(msg)}`;
    if (msg.command === "ack") alarm.ackRefused = true;
    if (msg.command === "audio_pause") alarm.pausedUntil = 0;
  }
  $("toast").textContent = ""; // its "… sent" would contradict the refusal
  addFeed(msg, true);
}

// ------------------------------------------------------------------ connection status
let connection = null;
let linkState = "connecting";

function onStatus(status, detail) {
  linkState = status;
  if (status === "unauthenticated") {
    connection?.stop();
    showLogin(typeof detail === "string" ? detail : "");
    return;
  }
  if (status === "lost") state.lostDetail = detail;
  renderBanner();
}

function renderBanner() {
  const banner = $("banner");
  const conn = $("conn-state");
  if (linkState === "lost") {
    const seconds = Math.max(0, Math.round((state.lostDetail?.retryInMs ?? 0) / 1000));
    banner.textContent = `Connection lost — alarms may be missed. Reconnecting${seconds ? ` in ${seconds} s` : ""}…`;
    banner.className = "banner critical";
    banner.hidden = false;
    conn.textContent = "disconnected";
    conn.className = "conn down";
  } else if (linkState === "open" && !state.upstream) {
    banner.textContent = "The hub lost its connection to the alarm system — alarms may be missed.";
    banner.className = "banner critical";
    banner.hidden = false;
    conn.textContent = "hub degraded";
    conn.className = "conn down";
  } else {
    banner.hidden = true;
    conn.textContent = linkState === "open" ? "live" : "connecting…";
    conn.className = linkState === "open" ? "conn up" : "conn";
  }
}

// ------------------------------------------------------------------ rendering
function renderAll() {
  renderGrid();
  renderAlarms();
  renderFeed();
  renderBanner();
}

function vitalRow(s, label, metrics, unit, now) {
  const samples = metrics.map((m) => s.vitals[m]).filter(Boolean);
  if (!samples.length) return [el("span", { class: "label" }, label), el("span", { class: "value" }, "—"), el("span", { class: "age" }, "no data")];
  const value = metrics.map((m) => (s.vitals[m] ? fmtNum(s.vitals[m].value) : "—")).join("/");
  const age = now - Math.min(...samples.map((x) => x.t));
  const spark = sparkline(s.history[metrics[0]] ?? [], now, `${label} trend`);
  return [
    el("span", { class: "label" }, label),
    el("span", {}, el("span", { class: "value" }, value, " ", el("span", { class: "unit" }, unit)), spark),
    el("span", { class: age > STALE_S ? "age stale" : "age", title: "time since the reading" }, age > STALE_S ? `stale, ${fmtAge(age)}` : fmtAge(age)),
  ];
}

function deviceItem(d) {
  const battery = d.battery_pct === null || d.battery_pct === undefined ? "battery —" : `battery ${d.battery_pct} %`;
  const contact = d.contact === true ? "contact ok" : d.contact === false ? "NO CONTACT" : "contact —";
  const bad = d.state !== "connected" || d.contact === false || (d.battery_pct ?? 100) <= 15;
  return el("li", { class: bad ? "bad" : "" }, el("span", {}, `${d.kind.replaceAll("_", " ")} (${d.state})`), el("span", {}, `${battery}, ${contact}`));
}

function renderGrid() {
  const grid = $("grid");
  const now = nowS();
  const cards = [...state.sessions.values()]
    .sort((a, b) => (RANK[priorityOf(highestAlarm(b.session) ?? {})] ?? 0) - (RANK[priorityOf(highestAlarm(a.session) ?? {})] ?? 0) || a.session.localeCompare(b.session))
    .map((s) => {
      const d = s.descriptor;
      const top = highestAlarm(s.session);
      const priority = top ? priorityOf(top) : null;
      const elapsed = d?.ended ? el("span", { class: "ended" }, "ended")
        : d?.dose_time ? el("span", { class: "elapsed" }, `T+${fmtElapsed(now - d.dose_time)} since dose`)
        : el("span", { class: "elapsed" }, "not dosed yet");
      const badge = top
        ? el("span", { class: `badge ${priority}` }, `${priority.toUpperCase()} ALARM: ${top.state?.rule ?? top.event?.rule ?? ""}${isAcknowledged(top) ? " (acknowledged)" : ""}`)
        : el("span", { class: "badge none" }, "no active alarm");
      return el("article", { class: `card ${priority ? `p-${priority}` : ""}`, "aria-label": `session ${d?.patient ?? s.session}`, "data-session": s.session },
        el("header", {}, el("span", { class: "name" }, d?.patient ?? s.session, el("span", { class: "muted" }, ` · ${s.session}`)), elapsed),
        el("div", {}, badge),
        el("div", { class: "vitals" },
          vitalRow(s, "HR", s.vitals.hr ? ["hr"] : ["pr"], "bpm", now),
          vitalRow(s, "BP", ["sbp", "dbp"], "mmHg", now),
          vitalRow(s, "SpO₂", ["spo2"], "%", now)),
        el("ul", { class: "devices", "aria-label": "devices" }, s.devices.map(deviceItem)));
    });
  grid.replaceChildren(...cards);
  $("no-sessions").hidden = cards.length > 0;
}

let toastTimer = null;

function showToast(text) {
  $("toast").textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { $("toast").textContent = ""; }, 4000);
}

async function command(type, alarm, extra = {}) {
  const current = state.alarms.get(alarm.alarm_id);
  if (current) {
    current.refusal = null;
    if (type === "ack") current.ackRefused = false;
  }
  const reply = await connection.request({ type, session: alarm.session, alarm_id: alarm.alarm_id, ...extra });
  const label = COMMAND_LABEL[type] ?? type;
  showToast(reply.type === "ok" ? `${label} sent` : `${label} failed: ${reply.message}`);
  return reply;
}

const alarmNodes = new Map();

function alarmNode(alarm) {
  let node = alarmNodes.get(alarm.alarm_id);
  if (node) return node;
  const note = el("input", { "aria-label": "note", placeholder: "note", maxlength: "2000" });
  // Not a live region itself (the announcement goes through #announce-assertive, once); the
  // buttons are described by it, so a screen reader reads the refusal with the button.
  const refusalId = `refusal-${alarm.alarm_id}`;
  node = el("li", { class: "alarm", "data-alarm": alarm.alarm_id },
    el("div", { class: "line" }, el("span", { class: "badge" }), el("span", { class: "state" }), el("span", { class: "paused", hidden: true }), el("span", { class: "escalated", hidden: true })),
    el("p", { class: "msg" }),
    el("p", { class: "meta" }),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "ack", "aria-describedby": refusalId, onclick: () => command("ack", alarm) }, "Acknowledge"),
      el("button", { type: "button", class: "pause", "aria-describedby": refusalId, onclick: () => command("audio_pause", alarm, { duration_s: 120 }) }, "Pause audio 2 min"),
      el("button", { type: "button", class: "escalate", "aria-describedby": refusalId, onclick: () => command("escalate", alarm) }, "Escalate")),
    el("p", { class: "refusal", id: refusalId }),
    el("form", { class: "note-form", onsubmit: async (e) => {
      e.preventDefault();
      if (!note.value.trim()) return;
      const reply = await command("note", alarm, { text: note.value.trim() });
      if (reply.type === "ok") note.value = "";
    } }, note, el("button", { type: "submit" }, "Add note")));
  alarmNodes.set(alarm.alarm_id, node);
  return node;
}

function updateAlarmNode(node, alarm, now) {
  const priority = priorityOf(alarm);
  const patient = state.sessions.get(alarm.session)?.descriptor?.patient ?? alarm.session;
  node.className = `alarm p-${priority}`;
  const [badge, stateSpan, paused, escalated] = node.querySelector(".line").children;
  badge.className = `badge ${priority}`;
  badge.textContent = priority.toUpperCase();
  stateSpan.textContent = stateText(alarm);
  const until = pausedUntil(alarm);
  paused.hidden = until <= now || isAcknowledged(alarm);
  paused.textContent = `audio paused ${Math.ceil(until - now)} s`;
  const level = alarm.delivery?.level ?? 0;
  escalated.hidden = level === 0;
  escalated.textContent = `escalated (level ${level})`;
  node.querySelector(".msg").textContent = alarm.state?.message ?? alarm.event?.message ?? alarm.alarm_id;
  const onset = alarm.state?.onset ?? alarm.event?.onset ?? alarm.event?.t;
  node.querySelector(".meta").textContent = `${patient} · since ${onset ? fmtTime(onset) : "—"} · ${alarm.alarm_id}`;
  node.querySelector(".refusal").textContent = alarm.refusal ?? "";
  node.querySelector(".ack").disabled = isAcknowledged(alarm);
  node.querySelector(".pause").disabled = isAcknowledged(alarm);
}

function renderAlarms() {
  const list = $("active-alarms");
  const now = nowS();
  const alarms = [...state.alarms.values()].sort((a, b) => RANK[priorityOf(b)] - RANK[priorityOf(a)] || (a.state?.onset ?? 0) - (b.state?.onset ?? 0));
  for (const id of alarmNodes.keys()) if (!state.alarms.has(id)) alarmNodes.delete(id);
  const nodes = alarms.map((alarm) => { const node = alarmNode(alarm); updateAlarmNode(node, alarm, now); return node; });
  // Reorder without recreating, so a half-typed note keeps its focus.
  nodes.forEach((node, i) => { if (list.children[i] !== node) list.insertBefore(node, list.children[i] ?? null); });
  while (list.children.length > nodes.length) list.lastChild.remove();
  $("alarm-count").textContent = String(alarms.length);
  reportSeen(alarms);
}

function reportSeen(alarms) {
  if (document.visibilityState !== "visible" || linkState !== "open") return;
  for (const alarm of alarms) {
    if (state.seenSent.has(alarm.alarm_id)) continue;
    if (connection.send({ type: "seen", req: `seen-${state.seenSent.size}`, session: alarm.session, alarm_id: alarm.alarm_id })) {
      state.seenSent.add(alarm.alarm_id);
    }
  }
}

function renderFeed() {
  const items = state.feed.slice(0, 60).map((msg) => {
    const priority = msg.type === "alarm_event" ? msg.event.priority : msg.type === "escalation" ? "high" : msg.type === "delivery_failure" ? "medium" : null;
    const t = msg.type === "alarm_event" ? msg.event.t : msg.t;
    const label = msg.type === "command_result" ? "REFUSED" : msg.type.replace("_", " ");
    return el("li", {}, el("time", {}, t ? fmtTime(t) : ""), priority ? el("span", { class: `badge ${priority}` }, priority.toUpperCase()) : el("span", { class: `badge ${msg.type === "command_result" ? "refused" : "info"}` }, label), " ", feedText(msg, false));
  });
  $("feed").replaceChildren(...items);
}

function tick() {
  if ($("app-view").hidden) return;
  const now = nowS();
  renderGrid();
  for (const alarm of state.alarms.values()) {
    const node = alarmNodes.get(alarm.alarm_id);
    if (node) updateAlarmNode(node, alarm, now);
  }
  const loudest = [...state.alarms.values()].filter(sounding).map(priorityOf).sort((a, b) => RANK[b] - RANK[a])[0] ?? null;
  sound.tick(loudest, Date.now());
  const button = $("sound-button");
  button.hidden = sound.enabled;
  button.classList.toggle("needed", !sound.enabled);
}

// ------------------------------------------------------------------ views
function showLogin(message) {
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  $("banner").hidden = true;
  $("login-error").textContent = message ?? "";
  $("login-user").focus();
}

function showApp() {
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  connection = new HubConnection({ onMessage, onStatus });
  connection.start();
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  sound.enable().catch(() => {}); // the click is the gesture browsers require for audio
  $("login-error").textContent = "";
  try {
    await login($("login-user").value.trim(), $("login-password").value);
    $("login-password").value = "";
    showApp();
  } catch (err) {
    $("login-error").textContent = err.message;
  }
});
$("sound-button").addEventListener("click", () => sound.enable().then(tick));
$("logout-button").addEventListener("click", () => { connection?.stop(); forgetToken(); showLogin(""); });
document.addEventListener("visibilitychange", () => reportSeen([...state.alarms.values()]));
setInterval(tick, 1000);

if (storedToken()) showApp(); else showLogin("");
