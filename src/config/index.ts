export { loadConfig, parseConfig, DEFAULT_CONFIG, type WorkerConfig, type CortexConfig, type LoadedConfig } from './config.js';
