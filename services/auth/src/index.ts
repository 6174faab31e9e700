export { signToken, signUserToken, verifyToken, TokenError, MAX_USER_TOKEN_SECONDS, MAX_SERVICE_TOKEN_SECONDS, TOKEN_AUDIENCE, TOKEN_ISSUER, type Principal, type Verified } from './token';
export { encodeCursor, decodeCursor, readCursor, cursorFromRow, CursorError, StaleCursorError, CURSOR_SQL, type Cursor, type CursorRow, type Pending } from './cursor';
export { parseSnapshot, visibleIn, type Snapshot } from './snapshot';
