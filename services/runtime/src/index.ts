export { createLogger, chooseLogFormat, logStyleOf, writeForeignLine, connectionLost, type Logger, type LogOptions, type LogStyle } from './log';
export { runProcess, isStopping, stopFlagBuffer, adoptStopFlag, describeError, type Stop } from './process';
export {
  LOG_FORMATS,
  EnvError,
  parseEnv,
  loadEnvOrExit,
  logEnv,
  listenEnv,
  httpLimitsEnv,
  httpLimits,
  metricsEnv,
  realtimeSecretEnv,
  redisEnv,
  realtimeSecret,
  requireSharedSecret,
  weakSecret,
  HTTP_LIMIT_DEFAULTS,
  type HttpLimits,
  type LogFormat,
} from './env';
export { LISTEN_BACKLOG, buildHttp, requireMetricsToken, sameSecret, serverTimeouts, clientErrorAnswer, type HttpOptions } from './http';
export { noteLimited, WarnWindow, type Limit } from './limited';
export { metricsRegistry, metricsText, httpLimited, type MetricsJson } from './metrics';
export { processHealth, startServices, HEALTHY, type Health, type Service } from './service';
