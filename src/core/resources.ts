import type { Resources } from '../../protocol/messages.ts';

/**
 * Arithmetic on (cpu, ramGb) pairs. Sums of fractional reservations drift in binary floating
 * point (0.1 + 0.2 - 0.3 != 0), so results are rounded to a micro-unit: a core released after
 * being reserved gives back exactly what it took.
 */

const UNIT = 1e6;

/** Rounds to a millionth of a core / of a GB. */
export function roundResource(value: number): number {
  return Math.round(value * UNIT) / UNIT;
}

export function addResources(a: Resources, b: Resources): Resources {
  return { cpu: roundResource(a.cpu + b.cpu), ramGb: roundResource(a.ramGb + b.ramGb) };
}

/** a - b, never below zero. */
export function subtractResources(a: Resources, b: Resources): Resources {
  return { cpu: Math.max(0, roundResource(a.cpu - b.cpu)), ramGb: Math.max(0, roundResource(a.ramGb - b.ramGb)) };
}

/** True when `available` covers `request` in both dimensions. */
export function fits(request: Resources, available: Resources): boolean {
  return request.cpu <= available.cpu && request.ramGb <= available.ramGb;
}

/**
 * One number for "how big": cpu + ramGb / 2 (a core weighs as much as 2 GB), the thesis' R. It
 * orders both tasks (priority) and agents' free capacity (best fit), so the two agree.
 */
export function resourceWeight(r: Resources): number {
  return r.cpu + r.ramGb / 2;
}

export const NO_RESOURCES: Resources = Object.freeze({ cpu: 0, ramGb: 0 });
