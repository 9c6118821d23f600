// Audible alarm signals with WebAudio. Patterns follow the spirit of IEC 60601-1-8:
// high = two bursts of five fast pulses, repeated every 6 s; medium = three pulses every
// 15 s; low = two soft pulses every 30 s. Browsers need a user gesture before sound.

const PATTERNS = {
  high: { freq: 988, pulses: [0, .2, .4, .9, 1.1, 1.9, 2.1, 2.3, 2.8, 3.0], length: .15, gain: .5, everyS: 6 },
  medium: { freq: 659, pulses: [0, .35, .7], length: .22, gain: .35, everyS: 15 },
  low: { freq: 523, pulses: [0, .4], length: .25, gain: .2, everyS: 30 },
};

export class AlarmSound {
  constructor() {
    this.ctx = null;
    this.lastPlayed = { high: 0, medium: 0, low: 0 };
  }

  get enabled() {
    return this.ctx !== null && this.ctx.state === "running";
  }

  /** Call from a click or key handler. */
  async enable() {
    if (!this.ctx) this.ctx = new AudioContext();
    if (this.ctx.state !== "running") await this.ctx.resume();
    return this.enabled;
  }

  play(priority) {
    const p = PATTERNS[priority];
    if (!p || !this.enabled) return;
    const t0 = this.ctx.currentTime + 0.02;
    for (const offset of p.pulses) {
      const osc = this.ctx.createOscillator();
      const gain = this.ctx.createGain();
      osc.type = "square";
      osc.frequency.value = p.freq;
      gain.gain.setValueAtTime(0, t0 + offset);
      gain.gain.linearRampToValueAtTime(p.gain, t0 + offset + 0.01);
      gain.gain.setValueAtTime(p.gain, t0 + offset + p.length - 0.02);
      gain.gain.linearRampToValueAtTime(0, t0 + offset + p.length);
      osc.connect(gain).connect(this.ctx.destination);
      osc.start(t0 + offset);
      osc.stop(t0 + offset + p.length + 0.01);
    }
  }

  /** Sound the highest priority that is due; `priority` is null when nothing sounds. */
  tick(priority, nowMs) {
    if (!priority) return;
    const p = PATTERNS[priority];
    if (nowMs - this.lastPlayed[priority] >= p.everyS * 1000) {
      this.lastPlayed[priority] = nowMs;
      this.play(priority);
    }
  }
}
