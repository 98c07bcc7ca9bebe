export { OllamaWorker, type OllamaWorkerOptions } from './ollama.js';
export { DemoWorker, type DemoWorkerOptions } from './demo.js';
export { OpenAIWorker, OPENAI_PRESETS, type OpenAIWorkerOptions, type OpenAIPreset } from './openai.js';
export { AnthropicWorker, type AnthropicWorkerOptions } from './anthropic.js';
