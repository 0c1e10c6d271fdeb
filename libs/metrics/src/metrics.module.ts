import { Module, type DynamicModule } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** Histogram buckets of a call or a read, arrival to answer: 0.1 ms to 10 s. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

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
