export { Gateway, DEFAULT_LIMITS, DEFAULT_HEARTBEAT, DEAD_LINK_NOTICE_MS, type GatewayOptions, type GatewayLimits, type Heartbeat } from './gateway';
export { Feed, type FeedChange, type FeedOptions, type StampSource } from './feed';
export { ChannelCatalog, type ChannelCatalogOptions } from './channels';
export { columnFilter } from './subscriptions/filter';
export { GatewayService, type GatewayServiceOptions } from './service';
export { loadGatewayEnv, gatewayEnvSchema, gatewayEnv, gatewayLimits, gatewayHeartbeat, checkHeartbeat, originProblem, type GatewayEnv, type GatewaySettings } from './env';
