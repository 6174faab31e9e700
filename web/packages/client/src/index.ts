export { createRealtime, type CreateRealtimeOptions, type TokenLike } from './create.js';
export {
  RealtimeClient,
  refreshDelay,
  type ClientEvents,
  type ClientOptions,
  type ConnectionState,
  type RealtimeToken,
  type Resume,
  type SocketLike,
  type Status,
  type SubscriptionHandlers,
  type SubscriptionSpec,
  type Timers,
  type TokenSource,
} from './client.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { defaultHandlers, newestFirst, reduce, type Handler, type Handlers, type LiveList, type ReduceOptions, type Row } from './reducer.js';
export { isDev } from './dev.js';
export {
  createWriteQueue,
  type ConfirmedBy,
  type WriteEntry,
  type WriteError,
  type WriteEvent,
  type WriteKind,
  type WriteQueue,
  type WriteQueueOptions,
  type WriteState,
} from './writes/queue.js';
export { memoryStorage, type MemoryStorage, type QueueStorage } from './writes/storage.js';
export { versionFromEtag } from './writes/policy.js';
export type { ApiRow, Change, ChangeEvent, ChangeOp, ChangesEvent, ErrorCode, Filter, ListPage, PageInfo, ResyncReason, SessionEndReason, UnauthorizedReason } from '@realtime/protocol';
export { changeOps, errorCodes, isSessionEnd } from '@realtime/protocol';
