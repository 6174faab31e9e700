export { SharedRedis, redactRedisUrl, type SharedRedisOptions } from './redis';
export { Leases, type LeasesOptions, type LeaseReply } from './leases';
export { sharedRateStore, type RateStore, type RateStoreClass } from './rate-store';
export { WindowCounts } from './window';
export { counterReply, leaseExpiry, leaseMember, leaseSetKey, limitKey, renewEveryMs } from './keys';
export { sharedRedisFromEnv } from './env';
