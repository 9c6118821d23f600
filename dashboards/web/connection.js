// The hub's websocket protocol, version 1 (docs/websocket.md): login, hello with resume,
// reconnection with backoff, token refresh, request/reply correlation.

const TOKEN_KEY = "vigil.token";
const BACKOFF_MS = [500, 1000, 2000, 3000, 5000];

export const Close = Object.freeze({
  GOING_AWAY: 1001, PROTOCOL: 4400, UNAUTHENTICATED: 4401, FORBIDDEN: 4403,
  AUTH_TIMEOUT: 4408, TOO_SLOW: 4429,
});

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Exchange credentials for a token on a short-lived socket. Resolves the token reply. */
export function login(user, password) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(socketUrl());
    let done = false;
    ws.onopen = () => ws.send(JSON.stringify({ type: "login", req: "login", user, password }));
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.type === "token") {
        done = true;
        sessionStorage.setItem(TOKEN_KEY, msg.token);
        ws.close(1000);
        resolve(msg);
      }
    };
    ws.onclose = (e) => {
      if (!done) reject(new Error(e.reason || "the hub could not be reached"));
    };
  });
}

/**
 * A live connection. `onMessage(msg)` gets every frame; `onStatus(state, detail)` gets
 * "open" | "lost" | "unauthenticated". Remembers the last event id and resumes after a drop.
 */
export class HubConnection {
  constructor({ onMessage, onStatus }) {
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.ws = null;
    this.epoch = null;
    this.lastEventId = null;
    this.attempt = 0;
    this.pending = new Map();
    this.reqCounter = 0;
    this.stopped = false;
    this.refreshTimer = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.refreshTimer);
    if (this.ws) this.ws.close(1000);
  }

  connect() {
    const token = storedToken();
    if (!token) { this.onStatus("unauthenticated", "sign in"); return; }
    const ws = new WebSocket(socketUrl());
    this.ws = ws;
    ws.onopen = () => {
      const hello = { type: "hello", v: 1, token };
      if (this.epoch !== null && this.lastEventId !== null) {
        hello.resume = { epoch: this.epoch, last_event_id: this.lastEventId };
      }
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (e) => this.receive(JSON.parse(e.data));
    ws.onclose = (e) => this.closed(ws, e);
  }

  receive(msg) {
    if (msg.type === "snapshot" || msg.type === "resumed") {
      this.attempt = 0;
      this.epoch = msg.epoch;
      this.lastEventId = msg.type === "snapshot" ? msg.last_event_id : msg.from_event_id;
      this.scheduleRefresh(msg.expires_at, msg.server_time);
      this.onStatus("open");
    }
    if (typeof msg.id === "number" && (this.lastEventId === null || msg.id > this.lastEventId)) {
      this.lastEventId = msg.id;
    }
    if (msg.type === "token") {
      sessionStorage.setItem(TOKEN_KEY, msg.token);
      this.scheduleRefresh(msg.expires_at, Date.now() / 1000);
    }
    if ((msg.type === "ok" || msg.type === "error") && this.pending.has(msg.req)) {
      this.pending.get(msg.req)(msg);
      this.pending.delete(msg.req);
    }
    this.onMessage(msg);
  }

  scheduleRefresh(expiresAt, serverNow) {
    clearTimeout(this.refreshTimer);
    const halfLifeMs = Math.max(5000, ((expiresAt - serverNow) * 1000) / 2);
    this.refreshTimer = setTimeout(() => this.send({ type: "refresh", req: "refresh" }), halfLifeMs);
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    this.ws = null;
    for (const resolve of this.pending.values()) {
      resolve({ type: "error", code: "connection_lost", message: "connection lost; retry" });
    }
    this.pending.clear();
    if (this.stopped) return;
    if (event.code === Close.UNAUTHENTICATED) {
      forgetToken();
      this.onStatus("unauthenticated", event.reason || "sign in again");
      return;
    }
    const delay = event.code === Close.TOO_SLOW ? 0 : BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.onStatus("lost", { code: event.code, reason: event.reason, retryInMs: delay });
    setTimeout(() => { if (!this.stopped) this.connect(); }, delay);
  }

  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** Send a command; resolves with its ok/error reply. */
  request(message) {
    const req = `r${++this.reqCounter}`;
    return new Promise((resolve) => {
      if (!this.send({ ...message, req })) {
        resolve({ type: "error", code: "connection_lost", message: "not connected; retry" });
        return;
      }
      this.pending.set(req, resolve);
    });
  }
}
