import { svg } from '../lib/dom.js';

const W = 720;
const H = 150;
const AXIS = 18;
const BAR = W / 24;

/**
 * Check-ins per hour of the day as 24 SVG bars, drawn once and then resized: the heights are
 * attributes (the CSP allows no inline styles). Each bar's <title> gives its count to screen readers
 * and on hover.
 */
export function createChart(host: HTMLElement): { update(hours: number[]): void } {
  const root = svg('svg', { viewBox: `0 0 ${W} ${H + AXIS}`, class: 'chart', role: 'img' });
  const bars = Array.from({ length: 24 }, (_, hour) => {
    const rect = svg('rect', { x: hour * BAR + 2, width: BAR - 4, y: H, height: 0, class: 'bar' });
    const title = svg('title');
    rect.append(title);
    root.append(rect);
    return { rect, title };
  });
  // The scale: a line at the busiest hour's height, labelled with its count.
  root.append(svg('line', { x1: 0, x2: W, y1: 4, y2: 4, class: 'grid' }));
  const peak = svg('text', { x: W, y: 16, 'text-anchor': 'end', class: 'axis' });
  root.append(peak);
  for (const hour of [0, 6, 12, 18]) {
    const label = svg('text', { x: hour * BAR + 2, y: H + AXIS - 4, class: 'axis' });
    label.textContent = `${String(hour).padStart(2, '0')}:00`;
    root.append(label);
  }
  host.replaceChildren(root);

  let last = '';
  return {
    update(hours) {
      const key = hours.join(',');
      if (key === last) return;
      last = key;
      const top = Math.max(1, ...hours);
      const total = hours.reduce((a, b) => a + b, 0);
      const busiest = hours.indexOf(Math.max(...hours));
      peak.textContent = total ? top.toLocaleString() : '';
      root.setAttribute('aria-label', total ? `${total} check-ins today; busiest hour ${String(busiest).padStart(2, '0')}:00 with ${hours[busiest]}` : 'No check-ins yet today');
      hours.forEach((n, hour) => {
        const height = Math.round((n / top) * (H - 4));
        bars[hour]!.rect.setAttribute('y', String(H - height));
        bars[hour]!.rect.setAttribute('height', String(height));
        bars[hour]!.title.textContent = `${String(hour).padStart(2, '0')}:00–${String(hour + 1).padStart(2, '0')}:00: ${n}`;
      });
    },
  };
}
