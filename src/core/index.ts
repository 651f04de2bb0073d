/**
 * The pure domain core of dcloud: every decision the hub and the simulator share. No I/O, no
 * clock, no randomness: times and random numbers are parameters.
 */
export * from './model.ts';
export * from './errors.ts';
export * from './params.ts';
export * from './resources.ts';
export * from './trust.ts';
export * from './lifecycle.ts';
export * from './priority.ts';
export * from './heap.ts';
export * from './backlog.ts';
export * from './ordered-agents.ts';
export * from './capacity-index.ts';
export * from './scheduler.ts';
export * from './consensus.ts';
export * from './credibility.ts';
export * from './track-record.ts';
export * from './spot-check.ts';
export * from './replication.ts';
export * from './health.ts';
export * from './backoff.ts';
export * from './task-spec.ts';
export * from './image-ref.ts';
