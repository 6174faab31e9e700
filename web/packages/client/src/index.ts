export { createRealtime, type CreateRealtimeOptions, type TokenLike } from './create.js';
export { RealtimeClient } from './client.js';
export type { Phase } from './connection/machine.js';
export type { RealtimeToken, TokenSource } from './connection/tokens.js';
export type { ClientEnvironment, EventTargetLike } from './connection/environment.js';
export type { ClientEvents, ClientOptions, ConnectionState, Resume, SocketLike, Status, SubscriptionHandlers, SubscriptionSpec, Timers } from './types.js';
export type { BackoffOptions } from './backoff.js';
export {
  applyToWindow,
  compareRows,
  compareTuples,
  compareValues,
  extendWindow,
  keyOf,
  LiveWindowController,
  firstPageRetry,
  tupleOf,
  windowFromPage,
  type LiveWindow,
  type LiveWindowOptions,
  type LiveWindowState,
  type SortTuple,
} from './window/index.js';
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
export { defaultRest, type RestConvention, type RestRefusal } from './writes/rest.js';
export { memoryStorage, type MemoryStorage, type QueueStorage } from './writes/storage.js';
export type { ApiRow, Change, ChangeEvent, ChangeOp, ChangesEvent, ErrorCode, Filter, ListOrder, ListPage, PageInfo, PageSnapshot, ResyncReason, SessionEndReason, UnauthorizedReason } from '@realtime/protocol';
export { changeOps, errorCodes, isSessionEnd, snapshotHolds } from '@realtime/protocol';
