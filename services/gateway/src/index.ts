export { Gateway, DEFAULT_LIMITS, DEFAULT_HEARTBEAT, DEAD_LINK_NOTICE_MS, type GatewayOptions, type GatewayLimits, type Heartbeat } from './gateway';
export { Feed, type FeedChange, type FeedOptions } from './feed';
export { ChannelCatalog, type ChannelCatalogOptions } from './channels';
export { columnFilter } from './subscriptions/filter';
export { loadGatewayEnv, gatewayEnvSchema, gatewayLimits, gatewayHeartbeat, checkHeartbeat, jwtSecret, type GatewayEnv } from './env';
