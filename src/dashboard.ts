/**
 * A live dashboard of a running cortex, with health and readiness probes:
 * `import { serveDashboard } from 'cortex-otp/dashboard'`.
 * @packageDocumentation
 */
export {
  serveDashboard,
  dashboardHandler,
  type DashboardSource,
  type DashboardOptions,
  type KeyUsageSource,
  type ServeDashboardOptions,
  type DashboardHandler,
  type DashboardServer,
} from './dashboard/server.js';
export type { DashboardSnapshot, DashboardTotals, DashboardWorker } from './dashboard/model.js';
export type { DashboardRequest, TraceIds } from './dashboard/request-log.js';
export type { KeyUsage } from './gateway/usage.js';
export type { KeyBudgetState } from './gateway/keys.js';
export type { DashboardErrorCount, DashboardMinute } from './dashboard/trends.js';
