import { Injectable, Logger } from '@nestjs/common';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { PolicySource } from '#auth';
import { ApprovalDesk } from './approval-desk.js';
import { AuditLog } from './audit-log.js';
import { GuardedTransport, type GateDeps, type GuardedConnection } from './guarded-transport.js';
import { LimitCounters } from './limit-counters.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';

/**
 * Policy in front of the MCP server, as an MCP gateway puts it: each connection's McpServer connects
 * to its transport through a GuardedTransport, which decides every call before the tool sees it.
 */
@Injectable()
export class PolicyGate {
  private readonly deps: GateDeps;

  constructor(policies: PolicySource, counters: LimitCounters, approvals: ApprovalDesk, audit: AuditLog, metrics: GatewayMetrics) {
    this.deps = { policies, counters, approvals, audit, metrics, log: new Logger('PolicyGate') };
  }

  /** The transport the connection's McpServer connects to: `transport`, with policy applied. */
  guard(transport: Transport, connection: GuardedConnection): Transport {
    return new GuardedTransport(transport, connection, this.deps);
  }
}
