import { describe, expect, it } from 'vitest';
import { type AgentQuery, InvalidParamsError, OrderedAgents } from '../../src/core/index.ts';
import { seededRandom } from './core-fixtures.ts';

interface Row {
  id: string;
  cpu: number;
  ram: number;
  trust: number;
  active: boolean;
}

/** Matches by a scan and a sort: the order the set must keep. */
function brute(rows: Map<string, Row>, q: AgentQuery, exclude: ReadonlySet<string>, trustBreaksTies: boolean): string[] {
  return [...rows.values()]
    .filter((r) => r.cpu >= q.cpu && r.ram >= q.ram && (q.trust === undefined || (r.active && r.trust >= q.trust)) && !exclude.has(r.id))
    .sort((a, b) => a.cpu + a.ram / 2 - (b.cpu + b.ram / 2) || (trustBreaksTies ? b.trust - a.trust : 0) || (a.id < b.id ? -1 : 1))
    .map((r) => r.id);
}

function maxOf(values: number[], floor: number): number {
  return values.reduce((m, v) => Math.max(m, v), floor);
}

/** Mostly a few common trusts, now and then the highest. */
function rareTrust(random: () => number, pick: (values: readonly number[]) => number): number {
  return random() < 0.03 ? 10 : pick([1, 5, 5.1, 5.2]);
}

describe('ordered agents', () => {
  // Tiny blocks split, shrink, join and empty all the time; 32 is the size the index uses.
  for (const [blockSize, trustBreaksTies] of [[1, true], [2, true], [4, true], [32, true], [2, false], [32, false]] as const) {
    it(`walks in order and keeps its maxima under random moves and deletes (block size ${blockSize}, trust ${trustBreaksTies ? 'breaks' : 'does not break'} ties)`, () => {
      const random = seededRandom(blockSize + (trustBreaksTies ? 0 : 100));
      const set = new OrderedAgents({ blockSize, trustBreaksTies });
      const rows = new Map<string, Row>();
      const ids = 120;
      const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
      for (let step = 0; step < 3000; step++) {
        const id = `agent-${Math.floor(random() * ids)}`;
        const held = rows.get(id);
        const dice = random();
        if (dice < 0.15) {
          expect(set.delete(id)).toBe(rows.delete(id));
        } else if (dice < 0.45 && held !== undefined) {
          // Trust or activity alone: what decisions and heartbeats change, often in place.
          const row: Row = random() < 0.5 ? { ...held, trust: rareTrust(random, pick) } : { ...held, active: !held.active };
          set.set(id, row.cpu, row.ram, row.trust, row.active);
          rows.set(id, row);
        } else {
          // Few distinct values: many ties on key and trust, as reservations of equal tasks make;
          // rare large ones, so that maxima fall when their holder moves or leaves.
          const rare = random() < 0.03;
          const row: Row = { id, cpu: rare ? pick([8, 16]) : pick([0, 0.5, 1, 2]), ram: rare ? pick([16, 64]) : pick([0, 1, 2, 4]), trust: rare ? 10 : pick([1, 5, 5.1, 5.2]), active: random() < 0.8 };
          set.set(id, row.cpu, row.ram, row.trust, row.active);
          rows.set(id, row);
        }
        if (step % 7 !== 0) continue;
        const all = [...rows.values()];
        expect(set.size).toBe(rows.size);
        expect(set.activeCount).toBe(all.filter((r) => r.active).length);
        expect(set.maxCpu).toBe(maxOf(all.map((r) => r.cpu), 0));
        expect(set.maxRam).toBe(maxOf(all.map((r) => r.ram), 0));
        expect(set.maxActiveTrust).toBe(maxOf(all.filter((r) => r.active).map((r) => r.trust), Number.NEGATIVE_INFINITY));
        const cpu = pick([0, 1, 2, 4, 9, 16]);
        const ram = pick([0, 1, 4, 16, 64]);
        const q: AgentQuery = random() < 0.5 ? { cpu, ram, minKey: cpu + ram / 2 } : { cpu, ram, minKey: cpu + ram / 2, trust: pick([0, 5, 5.1, 10, 11]) };
        const exclude = new Set([`agent-${Math.floor(random() * ids)}`, `agent-${Math.floor(random() * ids)}`]);
        const expected = brute(rows, q, exclude, trustBreaksTies);
        const k = 1 + Math.floor(random() * 8);
        expect(set.first(q, k, exclude)).toEqual(expected.slice(0, k));
        expect(set.count(q, undefined, exclude)).toBe(expected.length);
        expect(set.count(q, 2, exclude)).toBe(Math.min(2, expected.length));
      }
    });
  }

  it('reports an entry as last set, and nothing once deleted', () => {
    const set = new OrderedAgents();
    set.set('a', 2, 4, 5, true);
    set.set('a', 1, 4, 6, false);
    expect(set.get('a')).toMatchObject({ id: 'a', key: 3, cpu: 1, ram: 4, trust: 6, active: false });
    expect(set.maxActiveTrust).toBe(Number.NEGATIVE_INFINITY);
    expect(set.delete('a')).toBe(true);
    expect(set.delete('a')).toBe(false);
    expect(set.get('a')).toBeUndefined();
    expect([set.size, set.maxCpu, set.maxRam]).toEqual([0, 0, 0]);
    expect(set.first({ cpu: 0, ram: 0, minKey: 0 }, 5)).toEqual([]);
  });

  it('moves an entry by the handle set returned, and looks up by id when the handle went stale', () => {
    const set = new OrderedAgents({ blockSize: 1 });
    const a = set.set('a', 2, 2, 5, true);
    set.set('b', 1, 2, 5, true);
    expect(set.set('a', 1, 1, 5, true, a)).toBe(a);
    expect(set.first({ cpu: 1, ram: 1, minKey: 1.5 }, 5)).toEqual(['a', 'b']);
    set.delete('a');
    // Stale: the entry it named is gone; a new one takes the id.
    const again = set.set('a', 4, 4, 5, true, a);
    expect(again).not.toBe(a);
    expect(set.set('a', 3, 4, 5, true, a)).toBe(again);
    // A handle of another id is never taken for this one.
    set.set('b', 5, 5, 5, true, again);
    expect(set.get('a')).toMatchObject({ cpu: 3, ram: 4 });
    expect(set.get('b')).toMatchObject({ cpu: 5, ram: 5 });
    expect(set.first({ cpu: 0, ram: 0, minKey: 0 }, 5)).toEqual(['a', 'b']);
  });

  it('orders equal entries by id exactly, whatever the ids (long shared prefixes, units past 7 bits, prefixes of one another)', () => {
    // Ranks compare the first units as numbers; ties, and units a rank cannot hold, fall back
    // to the strings: the order must be the strings' own, as the set breaks ties.
    const random = seededRandom(7);
    const alphabet = ['', 'a', 'b', '0', 'f', '\u007f', '\u0080', '\u00e9', '\u4e00', '\uffff', '\u0000'];
    const ids = new Set<string>();
    while (ids.size < 400) {
      const prefix = random() < 0.5 ? 'abcdef' : '';
      let id = prefix;
      const length = Math.floor(random() * 9);
      for (let i = 0; i < length; i++) id += alphabet[Math.floor(random() * alphabet.length)] as string;
      ids.add(id);
    }
    for (const blockSize of [1, 4, 32]) {
      const set = new OrderedAgents({ blockSize });
      for (const id of ids) set.set(id, 1, 2, 5, true);
      // Moved away and back: attach finds their places again among equal keys.
      for (const id of ids) if (random() < 0.3) set.set(id, 2, 2, 5, true);
      for (const id of ids) set.set(id, 1, 2, 5, true);
      expect(set.first({ cpu: 0, ram: 0, minKey: 0 }, ids.size)).toEqual([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    }
  });

  it('refuses a block size that is not a positive integer', () => {
    expect(() => new OrderedAgents({ blockSize: 0 })).toThrow(InvalidParamsError);
    expect(() => new OrderedAgents({ blockSize: 2.5 })).toThrow(InvalidParamsError);
  });
});
