export {
  startRegistry,
  register,
  unregister,
  lookup,
  listAll,
  subscribe,
  type RegistryEntry,
  type RegistryChange,
  type RegistryRef,
} from './registry.js';
