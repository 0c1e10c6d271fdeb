import type { PipeTransform } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import type { z } from 'zod';
import { describeIssues, type RefusalCode } from '#contracts';

/** Validates a message payload with a contract schema; a bad one is answered `{ code: "BAD_REQUEST", message }`. */
export class ZodPayloadPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.infer<S> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    const code: RefusalCode = 'BAD_REQUEST';
    throw new RpcException({ code, message: `invalid request: ${describeIssues(result.error)}` });
  }
}
