export { OllamaWorker, type OllamaWorkerOptions } from './ollama.js';
export { DemoWorker, type DemoWorkerOptions } from './demo.js';
