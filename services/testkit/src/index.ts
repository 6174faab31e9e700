export { repoRoot } from './root';
export { sleep, waitFailure, waitFor, waitForLine, type Probe, type WaitOptions } from './wait';
export { FakeApi, startFakeApi, type FakeApiOptions, type FakeChange, type Fault, type Recorded } from './fake-api';
export { failedTasks, failuresFromReport, runFailures, summarize, type Failure, type VitestReport } from './repeat';
export { spawnMain, startMain, startApp, untilListening, listeningPort, sampleSum, MAINS, type Main, type SpawnedMain, type RunningMain, type SpawnOptions } from './spawn';
export { startRedis, findRedisServer, redisArgs, ping, REDIS_INSTALL_HINT, type RedisOptions, type RunningRedis } from './redis';
