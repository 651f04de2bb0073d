export * from './errors.ts';
export * from './federation.ts';
export * from './identity.ts';
export * from './log-entry.ts';
export * from './log-store.ts';
export * from './peer-book.ts';
export * from './topics.ts';
export { DIRECTORY_ORIGIN, syncProtocol, type SyncReport } from './sync.ts';
