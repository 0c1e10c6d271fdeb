import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { KeyRingModule, PolicySourceModule } from '#auth';
import { MetricsModule } from '#metrics';
import { NatsModule } from '#nats';
import { configModule } from '#platform';
import { ReadModelsModule } from '#read-models';
import { AuditController } from './audit.controller.js';
import { AuditService } from './audit.service.js';
import { ApiReads } from './http/api-reads.js';
import { ChangeFeed } from './http/change-feed.js';
import { QueryHttpServer } from './http/query-http.server.js';
import { QueryEnv } from './query.env.js';
import { QueryMetricsInterceptor } from './query-metrics.interceptor.js';
import { ReadsController } from './reads.controller.js';
import { ReadsService } from './reads.service.js';
import { SessionViewCache } from './session-view.cache.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsService } from './sessions.service.js';

@Module({
  imports: [
    configModule(QueryEnv),
    NatsModule.forRoot('mcp-pytest-query'),
    ReadModelsModule.forRoot(),
    KeyRingModule,
    PolicySourceModule,
    MetricsModule.forRoot('query'),
  ],
  controllers: [SessionsController, ReadsController, AuditController],
  providers: [
    SessionViewCache,
    SessionsService,
    ReadsService,
    AuditService,
    ApiReads,
    ChangeFeed,
    QueryHttpServer,
    { provide: APP_INTERCEPTOR, useClass: QueryMetricsInterceptor },
  ],
})
export class QueryModule {}
