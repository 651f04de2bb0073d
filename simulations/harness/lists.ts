/**
 * Takes `item` out of `list`, keeping the order of the rest; false when it was not there.
 *
 * Shifts and pops instead of splicing: a splice that empties a small array lets V8 free its
 * store, and the next push allocates one again. An agent's lists (its open assignments, what it
 * runs) empty and fill at every execution, so that was two allocations per execution.
 */
export function removeFrom<T>(list: T[], item: T): boolean {
  const at = list.indexOf(item);
  if (at < 0) return false;
  for (let i = at; i < list.length - 1; i++) list[i] = list[i + 1] as T;
  list.pop();
  return true;
}
