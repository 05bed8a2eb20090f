/**
 * Inline SVG icons (no icon font: the system may lack the glyphs, as emoji often are).
 */

const SVG = 'http://www.w3.org/2000/svg';

/** A 16 px stroke icon from one path, in the current text colour. */
function icon(d: string): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('width', '16');
  svg.setAttribute('height', '16');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '1.4');
  svg.setAttribute('stroke-linecap', 'round');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', d);
  svg.append(path);
  return svg;
}

/** A bin. */
export function trashIcon(): SVGSVGElement {
  return icon('M2.5 4h11M6 4V2.5h4V4M4 4l.7 9.5h6.6L12 4M6.5 6.5v4.5M9.5 6.5v4.5');
}

/** A cross (close, dismiss). */
export function closeIcon(): SVGSVGElement {
  return icon('M4 4l8 8M12 4l-8 8');
}
