export * from './keypair.ts';
export * from './verifier.ts';
export * from './keyfile.ts';
export * from './verify-pool.ts';
