import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { RpcException, type NatsContext } from '@nestjs/microservices';
import { Histogram, type Registry } from 'prom-client';
import { tap, type Observable } from 'rxjs';
import { LATENCY_BUCKETS, METRICS } from '#metrics';

/** Times every read answered over NATS, by message pattern and result (ok, or the refusal's code). */
@Injectable()
export class QueryMetricsInterceptor implements NestInterceptor {
  private readonly seconds: Histogram<'pattern' | 'result'>;

  constructor(@Inject(METRICS) registry: Registry) {
    this.seconds = new Histogram({
      name: 'mcp_pytest_query_duration_seconds',
      help: 'Reads answered over NATS request/reply, by pattern and result (ok, or the refusal code).',
      labelNames: ['pattern', 'result'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    // Only the app's own patterns reach a handler: the label's values are few.
    const pattern = context.switchToRpc().getContext<NatsContext>().getSubject();
    const started = performance.now();
    const observe = (result: string) => this.seconds.observe({ pattern, result }, (performance.now() - started) / 1000);
    return next.handle().pipe(tap({ complete: () => observe('ok'), error: (error: unknown) => observe(refusalCode(error)) }));
  }
}

function refusalCode(error: unknown): string {
  const refusal = error instanceof RpcException ? error.getError() : undefined;
  const code = typeof refusal === 'object' && refusal !== null ? (refusal as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'error';
}
