import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { AuditQuery, QUERY_PATTERNS, type AuditQueryResult } from '#contracts';
import { ZodPayloadPipe } from '#platform';
import { AuditService, type AuditQueryRequest } from './audit.service.js';

@Controller()
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @MessagePattern(QUERY_PATTERNS.queryAudit)
  queryAudit(@Payload(new ZodPayloadPipe(AuditQuery)) query: AuditQueryRequest): Promise<AuditQueryResult> {
    return this.audit.query(query);
  }
}
