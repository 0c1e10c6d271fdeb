import type { PipeTransform } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import type { z } from 'zod';
import { QUERY_ERRORS } from '#contracts';

/** Validates a message payload with a contract schema; a bad one is answered `{ code: QUERY_ERRORS.badRequest, message }`. */
export class ZodPayloadPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.infer<S> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    const message = result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
    throw new RpcException({ code: QUERY_ERRORS.badRequest, message: `invalid request: ${message}` });
  }
}
