// 30-minute sparklines as inline SVG: no library, no canvas, scales with the card.

const SVG = "http://www.w3.org/2000/svg";
export const WINDOW_S = 1800;

export function sparkline(points, nowS, label) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 300 26");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  const recent = points.filter(([t]) => t >= nowS - WINDOW_S);
  svg.setAttribute("aria-label", `${label}, last 30 minutes, ${recent.length} points`);
  if (recent.length < 2) return svg;
  const values = recent.map(([, v]) => v);
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 1) { lo -= 0.5; hi += 0.5; }
  const coords = recent.map(([t, v]) => {
    const x = ((t - (nowS - WINDOW_S)) / WINDOW_S) * 300;
    const y = 24 - ((v - lo) / (hi - lo)) * 22;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", coords.join(" "));
  svg.append(line);
  return svg;
}
