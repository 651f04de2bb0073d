export * from './canonical.ts';
export * from './envelope.ts';
export * from './errors.ts';
export * from './messages.ts';
export * from './replay.ts';
export * from './digest.ts';
