export { loadConfig, parseConfig, DEFAULT_CONFIG, type WorkerConfig, type CortexConfig, type LoadedConfig, type GatewayKeyConfig } from './config.js';
