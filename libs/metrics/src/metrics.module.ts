import { Module, type DynamicModule } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** Injection token of the app's prom-client Registry. */
export const METRICS = Symbol('METRICS');

/** A registry for one app: the process's own metrics (memory, CPU, event loop delay, GC) with the app's, each series labelled `app`. */
export function appRegistry(app: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Prometheus metrics of one app, for its providers to register theirs on and its `/metrics` to answer from. */
@Module({})
export class MetricsModule {
  static forRoot(app: string): DynamicModule {
    return { module: MetricsModule, global: true, providers: [{ provide: METRICS, useFactory: () => appRegistry(app) }], exports: [METRICS] };
  }
}
