export { Gateway, DEFAULT_LIMITS, type GatewayOptions, type GatewayLimits } from './gateway';
export { Feed, type FeedChange, type FeedOptions } from './feed';
export { loadChannelColumns } from './channels';
export { signToken, signUserToken, verifyToken, TokenError, MAX_USER_TOKEN_SECONDS, type Principal } from './auth/token';
export { encodeCursor, decodeCursor, readCursor, CURSOR_SQL } from './replay/cursor';
export { loadGatewayEnv, gatewayEnvSchema, gatewayLimits, jwtSecret, type GatewayEnv } from './env';
