import { Module } from '@nestjs/common';
import { PolicySource } from './policy.source.js';

/** The policy in force, one watched file per app, shared by whoever decides or scopes by it. */
@Module({ providers: [PolicySource], exports: [PolicySource] })
export class PolicySourceModule {}
