import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { GetSessionRequest, QUERY_PATTERNS, type SessionView } from '#contracts';
import { ZodPayloadPipe } from '#platform';
import { SessionsService } from './sessions.service.js';

@Controller()
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @MessagePattern(QUERY_PATTERNS.getSession)
  getSession(@Payload(new ZodPayloadPipe(GetSessionRequest)) request: GetSessionRequest): Promise<SessionView> {
    return this.sessions.get(request);
  }
}
