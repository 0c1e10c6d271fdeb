import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  GetFailureGroupsRequest,
  GetFlakyTestsRequest,
  GetSessionTestsRequest,
  GetTestHistoryRequest,
  ListSessionsRequest,
  QUERY_PATTERNS,
  type GetFailureGroupsOutput,
  type GetFlakyTestsOutput,
  type GetSessionTestsOutput,
  type GetTestHistoryOutput,
  type ListSessionsOutput,
} from '#contracts';
import { ZodPayloadPipe } from '#platform';
import { ReadsService } from './reads.service.js';

/** The reads across sessions over NATS request/reply: the gateway's read tools ask these, and so may any NATS client. */
@Controller()
export class ReadsController {
  constructor(private readonly reads: ReadsService) {}

  @MessagePattern(QUERY_PATTERNS.listSessions)
  listSessions(@Payload(new ZodPayloadPipe(ListSessionsRequest)) request: ListSessionsRequest): Promise<ListSessionsOutput> {
    return this.reads.listSessions(request);
  }

  @MessagePattern(QUERY_PATTERNS.getSessionTests)
  sessionTests(@Payload(new ZodPayloadPipe(GetSessionTestsRequest)) request: GetSessionTestsRequest): Promise<GetSessionTestsOutput> {
    return this.reads.sessionTests(request);
  }

  @MessagePattern(QUERY_PATTERNS.getTestHistory)
  testHistory(@Payload(new ZodPayloadPipe(GetTestHistoryRequest)) request: GetTestHistoryRequest): Promise<GetTestHistoryOutput> {
    return this.reads.testHistory(request);
  }

  @MessagePattern(QUERY_PATTERNS.getFlakyTests)
  flakyTests(@Payload(new ZodPayloadPipe(GetFlakyTestsRequest)) request: GetFlakyTestsRequest): Promise<GetFlakyTestsOutput> {
    return this.reads.flakyTests(request);
  }

  @MessagePattern(QUERY_PATTERNS.getFailureGroups)
  failureGroups(@Payload(new ZodPayloadPipe(GetFailureGroupsRequest)) request: GetFailureGroupsRequest): Promise<GetFailureGroupsOutput> {
    return this.reads.failureGroups(request);
  }
}
