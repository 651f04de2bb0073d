import type { TopLevelSpec } from 'vega-lite';

/**
 * SVG charts rendered headless by vega (renderer 'none': no canvas, no browser). The libraries
 * are loaded on first use only: a run with --json and no output folder never pays for them.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg.endsWith('\n') ? svg : `${svg}\n`;
  } finally {
    view.finalize();
  }
}

export interface GroupedBarRow {
  /** One panel per group (a configuration such as "N=20, M=100"). */
  group: string;
  /** Bars side by side within a panel position (a policy). */
  series: string;
  /** Positions within a panel (min, avg, max). */
  category: string;
  value: number;
}

/**
 * The thesis' Figures 6.5 and 6.6: one panel per configuration, min/avg/max along each panel,
 * one coloured bar per policy at each of them.
 */
export function groupedBars(options: {
  title: string;
  yTitle: string;
  rows: readonly GroupedBarRow[];
  groupOrder: readonly string[];
  categoryOrder: readonly string[];
  seriesOrder: readonly string[];
}): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title,
    data: { values: options.rows.map((r) => ({ ...r })) },
    facet: { column: { field: 'group', type: 'nominal', title: null, sort: [...options.groupOrder] } },
    spec: {
      width: 150,
      height: 220,
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: { field: 'category', type: 'nominal', title: null, sort: [...options.categoryOrder], axis: { labelAngle: 0 } },
        xOffset: { field: 'series', type: 'nominal', sort: [...options.seriesOrder] },
        y: { field: 'value', type: 'quantitative', title: options.yTitle },
        color: { field: 'series', type: 'nominal', title: 'policy', sort: [...options.seriesOrder] },
      },
    },
  };
}

export interface LineRow {
  x: number;
  y: number;
  series: string;
}

/** Lines of y over x, one per series (e.g. accepted-wrong rate over the attacker's share). */
export function lines(options: { title: string; xTitle: string; yTitle: string; rows: readonly LineRow[]; seriesTitle: string }): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title,
    width: 420,
    height: 260,
    data: { values: options.rows.map((r) => ({ ...r })) },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xTitle },
      y: { field: 'y', type: 'quantitative', title: options.yTitle },
      color: { field: 'series', type: 'nominal', title: options.seriesTitle, legend: { labelLimit: 320 } },
    },
  };
}
