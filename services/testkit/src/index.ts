export { repoRoot } from './root';
export { spawnMain, startMain, startApp, untilListening, listeningPort, sampleSum, MAINS, type Main, type SpawnedMain, type RunningMain, type SpawnOptions } from './spawn';
