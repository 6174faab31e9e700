export * from './app';
export * from './outbox';
