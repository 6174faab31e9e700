export { Gateway, type GatewayOptions } from './gateway';
export { Feed, type FeedChange, type FeedOptions } from './feed';
export { loadChannelColumns } from './channels';
export { signToken, signUserToken, verifyToken, TokenError, MAX_USER_TOKEN_SECONDS, type Principal } from './auth/token';
export { encodeCursor, decodeCursor, readCursor } from './replay/cursor';
export { loadGatewayEnv, gatewayEnvSchema, jwtSecret, type GatewayEnv } from './env';
