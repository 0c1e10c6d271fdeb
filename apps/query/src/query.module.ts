import { Module } from '@nestjs/common';
import { NatsModule } from '#nats';
import { configModule } from '#platform';
import { AuditController } from './audit.controller.js';
import { AuditService } from './audit.service.js';
import { QueryEnv } from './query.env.js';
import { SessionViewCache } from './session-view.cache.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsService } from './sessions.service.js';

@Module({
  imports: [configModule(QueryEnv), NatsModule.forRoot('mcp-pytest-query')],
  controllers: [SessionsController, AuditController],
  providers: [SessionViewCache, SessionsService, AuditService],
})
export class QueryModule {}
