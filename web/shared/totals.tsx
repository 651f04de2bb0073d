import { resources, round, STATUS_ORDER } from './format.ts';
import { StatusBadge } from './TaskDetails.tsx';
import type { NetworkView } from './types.ts';

type Totals = Omit<NetworkView, 'federation'>;

/** The network's agents, resources and average trust, as `.total` tiles for a `.totals` row. */
export function NetworkTotals({ network, activeTestId, resourcesLabel }: { network: Totals; activeTestId: string; resourcesLabel: string }) {
  return (
    <>
      <div class="total">
        <span class="n" data-testid={activeTestId}>
          {network.agents.active}
        </span>
        <span class="l">agents active (of {network.agents.total})</span>
      </div>
      <div class="total">
        <span class="n">{resources(network.resources.total)}</span>
        <span class="l">
          {resourcesLabel} (free {resources(network.resources.free)})
        </span>
      </div>
      <div class="total">
        <span class="n">{round(network.averageTrust, 2)}</span>
        <span class="l">average trust</span>
      </div>
    </>
  );
}

/** The network's tasks per status, as `.total` tiles for a `.totals` row. */
export function StatusTotals({ network }: { network: Totals }) {
  return (
    <>
      {STATUS_ORDER.map((s) => (
        <div class="total" key={s}>
          <span class="n">{network.tasks[s]}</span>
          <span class="l">
            <StatusBadge status={s} />
          </span>
        </div>
      ))}
    </>
  );
}
