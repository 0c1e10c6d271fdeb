// Every drill of the fault suite, in the order they run: adding one is a file in this folder and a line here.
import type { Drill } from '../lib/drill.js';
import { abandonedSessions } from './abandoned-sessions.js';
import { clientRetry } from './client-retry.js';
import { clusterNodes } from './cluster-nodes.js';
import { natsRestart } from './nats-restart.js';
import { projectorKill } from './projector-kill.js';
import { stuckClients } from './stuck-clients.js';

export const DRILLS: Record<string, Drill> = { projectorKill, natsRestart, clientRetry, abandonedSessions, stuckClients, clusterNodes };
