export * from './app';
export * from './outbox';
export * from './auth';
export * from './writes';
