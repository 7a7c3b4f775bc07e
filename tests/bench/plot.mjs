// Draws chatbench sweep results as one SVG: delivered messages per second
// and p99 latency against offered load, one line per server, log scales.
//
//   node tests/bench/plot.mjs OUT.svg DIR     (reads DIR/<server>-sweep-<n>.json)

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [output, dir] = process.argv.slice(2);
if (!output || !dir) {
  console.error('usage: node tests/bench/plot.mjs OUT.svg DIR');
  process.exit(2);
}

// server -> [{ offered, delivered, p99 }] sorted by offered load
const series = new Map();
for (const file of readdirSync(dir)) {
  const m = file.match(/^(.+)-sweep-[\d_]+\.json$/);
  if (!m) continue;
  const r = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  if (!series.has(m[1])) series.set(m[1], []);
  series.get(m[1]).push({ offered: r.offered_deliveries_per_second, delivered: r.delivered_per_second,
    p99: r.latency_ms_p99, lost: r.lost });
}
if (series.size === 0) {
  console.error(`no *-sweep-*.json in ${dir}`);
  process.exit(1);
}
for (const points of series.values()) points.sort((a, b) => a.offered - b.offered);

const colors = ['#2563eb', '#dc2626', '#16a34a', '#9333ea'];
const W = 1000, H = 420, panelW = 400, panelH = 300, top = 50, left = [80, 560];
const all = [...series.values()].flat();
const log = (v) => Math.log10(Math.max(v, 1e-9));
const range = (values) => [Math.floor(log(Math.min(...values))), Math.ceil(log(Math.max(...values)))];
const xr = range(all.map((p) => p.offered));
const panels = [
  { title: 'delivered messages/s', key: 'delivered', yr: range(all.map((p) => Math.max(p.delivered, 1))) },
  { title: 'p99 latency, ms', key: 'p99', yr: range(all.map((p) => Math.max(p.p99, 0.1))) },
];
const fmt = (v) => (v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : `${v}`);

let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">\n`;
svg += `<rect width="${W}" height="${H}" fill="white"/>\n`;
panels.forEach((panel, i) => {
  const x0 = left[i];
  const sx = (v) => x0 + ((log(v) - xr[0]) / (xr[1] - xr[0])) * panelW;
  const sy = (v) => top + panelH - ((log(v) - panel.yr[0]) / (panel.yr[1] - panel.yr[0])) * panelH;
  svg += `<text x="${x0 + panelW / 2}" y="${top - 20}" text-anchor="middle" font-size="14">${panel.title}</text>\n`;
  svg += `<rect x="${x0}" y="${top}" width="${panelW}" height="${panelH}" fill="none" stroke="#999"/>\n`;
  for (let e = xr[0]; e <= xr[1]; e++) {
    const x = sx(10 ** e);
    svg += `<line x1="${x}" y1="${top}" x2="${x}" y2="${top + panelH}" stroke="#eee"/>`;
    svg += `<text x="${x}" y="${top + panelH + 16}" text-anchor="middle">${fmt(10 ** e)}</text>\n`;
  }
  for (let e = panel.yr[0]; e <= panel.yr[1]; e++) {
    const y = sy(10 ** e);
    svg += `<line x1="${x0}" y1="${y}" x2="${x0 + panelW}" y2="${y}" stroke="#eee"/>`;
    svg += `<text x="${x0 - 6}" y="${y + 4}" text-anchor="end">${fmt(10 ** e)}</text>\n`;
  }
  svg += `<text x="${x0 + panelW / 2}" y="${top + panelH + 36}" text-anchor="middle">offered deliveries/s</text>\n`;
  if (panel.key === 'delivered') { // where delivered = offered, inside the panel
    svg += `<clipPath id="panel${i}"><rect x="${x0}" y="${top}" width="${panelW}" height="${panelH}"/></clipPath>\n`;
    svg += `<line clip-path="url(#panel${i})"  x1="${sx(10 ** xr[0])}" y1="${sy(10 ** xr[0])}" x2="${sx(10 ** xr[1])}" y2="${sy(10 ** xr[1])}" stroke="#bbb" stroke-dasharray="4 4"/>\n`;
  }
  [...series.keys()].forEach((name, k) => {
    const pts = series.get(name).filter((p) => p[panel.key] > 0);
    const d = pts.map((p, j) => `${j ? 'L' : 'M'}${sx(p.offered).toFixed(1)},${sy(p[panel.key]).toFixed(1)}`).join(' ');
    svg += `<path d="${d}" fill="none" stroke="${colors[k % colors.length]}" stroke-width="2"/>\n`;
    for (const p of pts) {
      svg += `<circle cx="${sx(p.offered).toFixed(1)}" cy="${sy(p[panel.key]).toFixed(1)}" r="3" fill="${colors[k % colors.length]}"><title>${name}: offered ${p.offered}, ${panel.key} ${p[panel.key]}${p.lost ? `, lost ${p.lost}` : ''}</title></circle>\n`;
    }
  });
});
[...series.keys()].forEach((name, k) => {
  svg += `<rect x="${80 + k * 140}" y="${H - 22}" width="14" height="4" fill="${colors[k % colors.length]}"/>`;
  svg += `<text x="${100 + k * 140}" y="${H - 16}">${name}</text>\n`;
});
svg += '</svg>\n';
writeFileSync(output, svg);
console.log(`wrote ${output}`);
