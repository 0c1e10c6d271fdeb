import { ConfigModule } from '@nestjs/config';
import type { DynamicModule } from '@nestjs/common';
import type { z } from 'zod';
import { parseEnv } from './env.js';

/** Nest's ConfigModule over the process environment (entry points load the settings file first, see loadDotEnv), validated by `schema`. */
export function configModule(schema: z.ZodType<Record<string, unknown>>): Promise<DynamicModule> {
  return ConfigModule.forRoot({ isGlobal: true, cache: true, ignoreEnvFile: true, validate: (raw) => parseEnv(schema, raw) });
}
