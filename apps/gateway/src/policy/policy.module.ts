import { Module } from '@nestjs/common';
import { PolicySourceModule } from '#auth';
import { ApprovalDesk } from './approval-desk.js';
import { AuditLog } from './audit-log.js';
import { LimitCounters } from './limit-counters.js';
import { PolicyGate } from './policy-gate.js';

/** Policy in front of the tools: the gate, with the limit counts, approvals and audit log it uses. */
@Module({
  imports: [PolicySourceModule],
  providers: [LimitCounters, ApprovalDesk, AuditLog, PolicyGate],
  exports: [PolicyGate],
})
export class PolicyModule {}
