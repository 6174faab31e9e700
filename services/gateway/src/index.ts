export { Gateway, DEFAULT_LIMITS, type GatewayOptions, type GatewayLimits } from './gateway';
export { Feed, type FeedChange, type FeedOptions } from './feed';
export { ChannelCatalog, type ChannelCatalogOptions } from './channels';
export { columnFilter } from './subscriptions/filter';
export { loadGatewayEnv, gatewayEnvSchema, gatewayLimits, jwtSecret, type GatewayEnv } from './env';
