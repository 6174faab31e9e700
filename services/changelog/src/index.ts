export { ChangeLog, type AppendResult, type ChangeLogOptions, type ReadOptions } from './changelog';
export { ChangeLogError, NotCurrentError, redactUrl } from './errors';
export { BatchOrderError, LogEntryError, checkBatch, checkRetention, decodeEntry, encodeChange, entryId, keepFrom, planAppend, seqOfEntryId, type AppendPlan, type LogChange, type Retention } from './entries';
export { APPEND_SCRIPT, parseAppendReply, type AppendReply } from './script';
export { changelogEnv, changelogFromEnv, durationMs, type ChangelogSettings } from './env';
